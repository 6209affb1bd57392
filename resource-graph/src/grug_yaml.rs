//! Reader of GRUG recipes in Quiver's YAML format (see DESIGN.md).
use crate::error::GraphError;
use crate::grug::Recipe;

/// Parse a YAML recipe; `origin` names the file in errors.
pub fn parse(_text: &str, origin: &str) -> Result<Recipe, GraphError> {
    Err(GraphError::Recipe {
        path: origin.to_owned(),
        what: "YAML recipes are not supported yet".into(),
    })
}
