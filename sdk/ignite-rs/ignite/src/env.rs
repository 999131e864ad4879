//! [`Env`]: the function's environment variables.

use std::collections::btree_map;
use std::collections::BTreeMap;

/// The function's environment: a snapshot of the process environment taken once when the
/// function starts, shared by every invocation. Get it with
/// [`Context::env`](crate::Context::env).
///
/// The platform's own variables are left out: `PORT`, every variable whose name starts
/// with `IGNITE_` (the platform's settings such as `IGNITE_FUNCTION_ID`; the function id is
/// [`Context::function_id`](crate::Context::function_id)) and `NODE_CHANNEL_*` (the runner's
/// channel to the serve loop). Variables whose name or value is
/// not valid UTF-8 are left out too. `std::env::var` still sees the whole process
/// environment.
///
/// ```no_run
/// use ignite::prelude::*;
///
/// #[ignite::main]
/// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
///     let region = ctx.env().get("REGION").unwrap_or("eu-west-1");
///     let feature_flags: Vec<&str> = ctx
///         .env()
///         .iter()
///         .filter(|(name, _)| name.starts_with("FEATURE_"))
///         .map(|(name, _)| name)
///         .collect();
///     Ok(json!({ "region": region, "flags": feature_flags }))
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// Snapshot of the current process environment, without the platform's variables.
    pub(crate) fn from_process() -> Env {
        Env::from_vars(std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        }))
    }

    /// An environment from `(name, value)` pairs, without the platform's variables.
    pub(crate) fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Env {
        Env {
            vars: vars
                .into_iter()
                .filter(|(name, _)| !is_platform_variable(name))
                .collect(),
        }
    }

    /// The value of variable `name`, if set.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let api_url = ctx
    ///         .env()
    ///         .get("API_URL")
    ///         .ok_or_else(|| Error::msg("API_URL is not configured"))?;
    ///     Ok(json!({ "api_url": api_url }))
    /// }
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Whether variable `name` is set.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     Ok(json!({ "debug": ctx.env().contains("DEBUG") }))
    /// }
    /// ```
    pub fn contains(&self, name: &str) -> bool {
        self.vars.contains_key(name)
    }

    /// Every `(name, value)`, sorted by name.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     let names: Vec<&str> = ctx.env().iter().map(|(name, _)| name).collect();
    ///     Ok(json!({ "names": names }))
    /// }
    /// ```
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: self.vars.iter(),
        }
    }

    /// How many variables there are.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     Ok(json!({ "count": ctx.env().len() }))
    /// }
    /// ```
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether there are no variables.
    ///
    /// ```no_run
    /// use ignite::prelude::*;
    ///
    /// #[ignite::main]
    /// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
    ///     Ok(json!({ "configured": !ctx.env().is_empty() }))
    /// }
    /// ```
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

/// `PORT`, `IGNITE_*` and `NODE_CHANNEL_*` belong to the platform, not to the function.
fn is_platform_variable(name: &str) -> bool {
    name == "PORT" || name.starts_with("IGNITE_") || name.starts_with("NODE_CHANNEL_")
}

/// Iterator over the variables of an [`Env`], sorted by name; made by [`Env::iter`].
///
/// ```no_run
/// use ignite::prelude::*;
///
/// #[ignite::main]
/// async fn handler(_req: Request, ctx: Context) -> Result<impl IntoResponse> {
///     for (name, value) in ctx.env() {
///         eprintln!("{name}={value}");
///     }
///     Ok(())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    inner: btree_map::Iter<'a, String, String>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner
            .next()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Env {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_variables_are_left_out() {
        let env = Env::from_vars([
            ("PORT".to_string(), "8080".to_string()),
            ("IGNITE_FUNCTION_ID".to_string(), "org/f".to_string()),
            ("NODE_CHANNEL_FD".to_string(), "4".to_string()),
            ("B".to_string(), "2".to_string()),
            ("A".to_string(), "1".to_string()),
            ("PORTAL".to_string(), "yes".to_string()),
        ]);
        assert_eq!(env.get("A"), Some("1"));
        assert_eq!(env.get("PORT"), None);
        assert!(!env.contains("IGNITE_FUNCTION_ID"));
        assert_eq!(
            env.iter().collect::<Vec<_>>(),
            [("A", "1"), ("B", "2"), ("PORTAL", "yes")]
        );
        assert_eq!(env.len(), 3);
        assert!(!env.is_empty());
    }
}
