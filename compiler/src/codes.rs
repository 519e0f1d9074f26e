//! The stable codes of every diagnostic the checker and the lints report.
//!
//! Each code is explained in `docs/errors.md`; a test checks that every code
//! here has its entry there. Codes are never reused.

// Names, imports and items.
pub const UNKNOWN_NAME: &str = "E0101";
pub const DUPLICATE_NAME: &str = "E0102";
pub const LET_CYCLE: &str = "E0103";
pub const UNKNOWN_TYPE: &str = "E0104";
pub const IMPORT_UNREADABLE: &str = "E0105";
pub const IMPORT_CYCLE: &str = "E0106";
pub const GENERICS_OUTSIDE_STD: &str = "E0107";
pub const MISSING_BODY: &str = "E0108";
pub const FN_TYPE_OUTSIDE_STD: &str = "E0109";
pub const NO_OUTPUT: &str = "E0110";
pub const SECOND_POLICY: &str = "E0111";
pub const PARAM_TYPE: &str = "E0112";
pub const PARAM_UNTYPED: &str = "E0113";
pub const PARAM_DEFAULT_NOT_LITERAL: &str = "E0114";
pub const MISSING_ANNOTATION: &str = "E0115";
pub const EXTERN_NOT_SCALAR: &str = "E0116";
pub const EXTERN_PATH: &str = "E0117";
pub const STREAM_TYPE_WRITTEN: &str = "E0118";
pub const DUPLICATE_MEMBER: &str = "E0119";
pub const NOT_IN_LIBRARY: &str = "E0120";
pub const TYPE_AS_VALUE: &str = "E0121";
pub const IMPORT_PATH: &str = "E0122";
pub const RECURSIVE_RECORD: &str = "E0123";

// Types.
pub const MISMATCH: &str = "E0201";
pub const MIXED_NUMBERS: &str = "E0202";
pub const BAD_OPERAND: &str = "E0203";
pub const UNKNOWN_FIELD: &str = "E0204";
pub const TUPLE_INDEX_RANGE: &str = "E0205";
pub const NO_FIELDS: &str = "E0206";
pub const RECORD_UNKNOWN_FIELD: &str = "E0207";
pub const RECORD_DUPLICATE_FIELD: &str = "E0208";
pub const RECORD_MISSING_FIELDS: &str = "E0209";
pub const CANNOT_INFER: &str = "E0210";
pub const DURATION_OUTSIDE_POLICY: &str = "E0211";
pub const NOT_A_FUNCTION: &str = "E0212";
pub const AMBIGUOUS_FN_VALUE: &str = "E0213";

// Calls and arguments.
pub const ARITY: &str = "E0301";
pub const ARG_TYPE: &str = "E0302";
pub const UNKNOWN_NAMED_ARG: &str = "E0303";
pub const ARG_TWICE: &str = "E0304";
pub const NO_OVERLOAD: &str = "E0305";
pub const LAMBDA_ARITY: &str = "E0306";
pub const BOUND_NOT_SATISFIED: &str = "E0307";

// Streams, inputs and outputs.
pub const UNKNOWN_SOURCE: &str = "E0401";
pub const RECORD_ANNOTATION_REQUIRED: &str = "E0402";
pub const CSV_FIELD_NOT_SCALAR: &str = "E0403";
pub const INPUT_ANNOTATION_MISMATCH: &str = "E0404";
pub const NOT_SUBMIT_CONSTANT: &str = "E0405";
pub const STREAM_CAPTURED: &str = "E0406";
pub const STREAM_IN_FN: &str = "E0407";
pub const STREAM_IN_VALUE: &str = "E0408";
pub const OUTPUT_EXTENSION: &str = "E0409";
pub const CSV_OUTPUT_SHAPE: &str = "E0410";
pub const SOURCE_OUTSIDE_INPUT: &str = "E0411";
pub const FN_OUTPUT: &str = "E0412";

// Policy.
pub const POLICY_UNKNOWN_KEY: &str = "E0501";
pub const POLICY_DUPLICATE_KEY: &str = "E0502";
pub const POLICY_TYPE: &str = "E0503";
pub const POLICY_RANGE: &str = "E0504";
pub const POLICY_SELECT: &str = "E0505";
pub const POLICY_NOT_CONSTANT: &str = "E0506";

// Compilation: `extern fn` tool modules, checked when a job is compiled.
pub const TOOL_UNREADABLE: &str = "E0703";
pub const TOOL_INVALID: &str = "E0704";
pub const TOOL_SIGNATURE: &str = "E0705";

// Lints.
pub const UNUSED_LET: &str = "W0001";
pub const UNUSED_PARAM: &str = "W0002";
pub const SHADOWED_NAME: &str = "W0003";
pub const RECORD_NAME_CASE: &str = "W0004";
pub const NON_ASSOC_REDUCE: &str = "W0005";
pub const UNKNOWN_LINT: &str = "W0006";
