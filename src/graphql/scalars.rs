//! Rewst's `Void` scalar: the result of mutations that return nothing.
use async_graphql::{InputValueResult, Scalar, ScalarType, Value};

#[derive(Clone, Copy, Debug)]
pub struct Void;

#[Scalar(name = "Void")]
impl ScalarType for Void {
    fn parse(_value: Value) -> InputValueResult<Self> {
        Ok(Void)
    }

    fn to_value(&self) -> Value {
        Value::Null
    }
}
