//! The `#[ignite::main]` attribute of the Ignite Rust SDK.
//!
//! Do not depend on this crate directly: use it through the `ignite` crate, which re-exports the
//! attribute as `ignite::main` (and in `ignite::prelude`). The generated code refers to
//! `::ignite`, so the `ignite` crate must be a dependency under that name.

use proc_macro::TokenStream;
use proc_macro2::{Group, TokenStream as TokenStream2, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType, Type};

/// Turns `handler` into an Ignite function: the platform's HTTP serve loop calls it once per
/// invocation.
///
/// ```no_run
/// use ignite::prelude::*;
///
/// #[ignite::main]
/// async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
///     let name: String = req.field("name")?;
///     Ok(json!({ "hello": name, "execution_id": ctx.execution_id() }))
/// }
/// ```
///
/// # Accepted signatures
///
/// The function must be named `handler`, take exactly two arguments (a [`Request`] and a
/// [`Context`], in that order; any argument patterns) and return a `Result<T, E>` where `T`
/// implements `IntoResponse` and `E` converts into `ignite::Error` (`ignite::Result<T>` is the
/// usual choice). It may be `async` or synchronous; a synchronous handler runs on tokio's
/// blocking thread pool (`spawn_blocking`), off the async executor threads, so it may block.
/// Generics, `self`, `const`, `unsafe` and `extern` handlers are rejected at compile time with
/// an error pointing at the offending tokens. The attribute takes no arguments.
///
/// # Expansion
///
/// The compile worker relies on this exact shape. `#[ignite::main]` expands to three items at
/// the place it is written (the crate root):
///
/// 1. the function, kept exactly as written;
/// 2. `#[doc(hidden)] pub fn __ignite_main() -> !`, which runs the platform serve loop with the
///    handler and never returns: it exits the process when the serve loop stops (exit code 0
///    after a graceful SIGTERM/SIGINT shutdown, 1 if the server could not start);
/// 3. `#[allow(dead_code)] fn main() { __ignite_main() }`.
///
/// So a handler in `src/main.rs` is directly a program. For a handler in `src/lib.rs` (a
/// library crate, where the generated `main` is unused and silenced), the compile step adds a
/// bin target whose `main.rs` is
///
/// ```text
/// fn main() { <lib_crate_name>::__ignite_main() }
/// ```
///
/// On `wasm32-wasi` targets (the platform's `rust-wasm` target, `wasm32-wasip2`) the expansion
/// has a fourth item, compiled only there: the `wasi:http/incoming-handler` export, which serves
/// each request of the component with the handler (see the `ignite` crate's README). There,
/// `__ignite_main` only says that the crate is a component and exits with 1.
///
/// [`Request`]: https://docs.rs/ignite/latest/ignite/struct.Request.html
/// [`Context`]: https://docs.rs/ignite/latest/ignite/struct.Context.html
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = TokenStream2::from(args);
    let function = match syn::parse::<ItemFn>(item) {
        Ok(function) => function,
        Err(error) => {
            let mut error = error;
            error.combine(syn::Error::new(
                error.span(),
                "#[ignite::main] must be placed on `async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse>`",
            ));
            return error.to_compile_error().into();
        }
    };
    match expand(args, &function) {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            // Report the signature problems, and keep the function (so that its body is still
            // checked and no "unresolved" errors cascade from uses of it) and a `main` (so that
            // a `src/main.rs` crate does not also get "`main` function not found").
            let error = error.to_compile_error();
            quote! {
                #error
                #[allow(dead_code)]
                #function
                #[allow(dead_code)]
                fn main() {}
            }
            .into()
        }
    }
}

/// Accumulates every problem with the signature so that the user sees all of them at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

const SIGNATURE: &str = "async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse>";

fn expand(args: TokenStream2, function: &ItemFn) -> syn::Result<TokenStream2> {
    let sig = &function.sig;
    let mut errors = Errors::default();

    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(
            &args,
            "#[ignite::main] takes no arguments",
        ));
    }
    if sig.ident != "handler" {
        errors.push(syn::Error::new_spanned(
            &sig.ident,
            format!(
                "the #[ignite::main] function must be named `handler`, found `{}`",
                sig.ident
            ),
        ));
    }
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            "the #[ignite::main] handler cannot be `const`",
        ));
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(syn::Error::new_spanned(
            unsafety,
            "the #[ignite::main] handler cannot be `unsafe`",
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            "the #[ignite::main] handler cannot have an `extern` ABI",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let generics = &sig.generics;
        let tokens = match &generics.where_clause {
            Some(where_clause) if generics.params.is_empty() => quote!(#where_clause),
            _ => quote!(#generics),
        };
        errors.push(syn::Error::new_spanned(
            tokens,
            "the #[ignite::main] handler cannot be generic",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            "the #[ignite::main] handler cannot be variadic",
        ));
    }

    let mut typed_args = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                receiver,
                "the #[ignite::main] handler is a free function: it cannot take `self`",
            )),
            FnArg::Typed(pat_type) => typed_args.push(&*pat_type.ty),
        }
    }
    if sig.inputs.len() != 2 {
        let message = format!(
            "the #[ignite::main] handler takes exactly 2 arguments (a `Request` and a `Context`), found {}; expected `{SIGNATURE}`",
            sig.inputs.len()
        );
        let error = if sig.inputs.is_empty() {
            syn::Error::new(sig.paren_token.span.join(), message)
        } else {
            syn::Error::new_spanned(&sig.inputs, message)
        };
        errors.push(error);
    }

    match &sig.output {
        ReturnType::Default => errors.push(syn::Error::new(
            sig.paren_token.span.close(),
            format!(
                "the #[ignite::main] handler must return a `Result`, e.g. `Result<impl IntoResponse>`; expected `{SIGNATURE}`"
            ),
        )),
        ReturnType::Type(_, ty) => {
            if !is_result(ty) {
                errors.push(syn::Error::new_spanned(
                    ty,
                    "the #[ignite::main] handler must return a `Result`, e.g. `Result<impl IntoResponse>`",
                ));
            }
        }
    }

    errors.finish()?;

    let ident = &sig.ident;
    // The handler is called through a closure whose arguments carry the spans of the user's
    // argument types, so that `req: String` reports one error, "expected `String`, found
    // `Request`", on `String`.
    let request = quote_spanned! {typed_args[0].span()=> __ignite_request};
    let context = quote_spanned! {typed_args[1].span()=> __ignite_context};
    let (run, serve) = if sig.asyncness.is_some() {
        (
            quote_spanned! {ident.span()=> ::ignite::__private::run_async},
            quote_spanned! {ident.span()=> ::ignite::__private::wasm::serve_async},
        )
    } else {
        (
            quote_spanned! {ident.span()=> ::ignite::__private::run_blocking},
            quote_spanned! {ident.span()=> ::ignite::__private::wasm::serve_blocking},
        )
    };

    let mut function = function.clone();
    function.block = syn::parse2(route_log_macros(function.block.to_token_stream()))?;

    Ok(quote! {
        #function

        /// The Ignite entry point generated by `#[ignite::main]`: runs the platform serve loop
        /// with `handler` and exits the process when it stops. It never returns.
        #[doc(hidden)]
        #[allow(dead_code)]
        pub fn __ignite_main() -> ! {
            #run(
                |__ignite_request: ::ignite::Request, __ignite_context: ::ignite::Context| {
                    #ident(#request, #context)
                },
                ::core::env!("CARGO_PKG_NAME"),
            )
        }

        #[doc(hidden)]
        #[allow(dead_code)]
        fn main() {
            __ignite_main()
        }

        // On wasm32-wasi the function is a `wasi:http/proxy` component: its
        // `wasi:http/incoming-handler` export serves each request with the handler.
        #[cfg(all(target_arch = "wasm32", target_os = "wasi"))]
        const _: () = {
            struct __IgniteIncomingHandler;

            impl ::ignite::__private::wasm::Guest for __IgniteIncomingHandler {
                fn handle(
                    __ignite_incoming: ::ignite::__private::wasm::IncomingRequest,
                    __ignite_response_out: ::ignite::__private::wasm::ResponseOutparam,
                ) {
                    #serve(
                        |__ignite_request: ::ignite::Request, __ignite_context: ::ignite::Context| {
                            #ident(#request, #context)
                        },
                        ::core::env!("CARGO_PKG_NAME"),
                        __ignite_incoming,
                        __ignite_response_out,
                    )
                }
            }

            ::ignite::__private::wasm::export!(
                __IgniteIncomingHandler with_types_in ::ignite::__private::wasm::wasip2
            );
        };
    })
}

/// `Result<..>`, `ignite::Result<..>`, `std::result::Result<.., ..>`: a path whose last segment
/// is `Result` with generic arguments.
fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().is_some_and(|segment| {
                segment.ident == "Result"
                    && matches!(segment.arguments, syn::PathArguments::AngleBracketed(_))
            })
        }
        Type::Paren(inner) => is_result(&inner.elem),
        Type::Group(inner) => is_result(&inner.elem),
        _ => false,
    }
}

/// The `eprintln!` and `println!` of the handler's body made `::ignite::eprintln!` and
/// `::ignite::println!`, whose lines carry the invocation they belong to (a glob import cannot
/// shadow std's macros, so the prelude cannot do it). A path (`std::eprintln!`) is left as it
/// is; the new path has the user's span, so errors in the arguments point at their tokens.
fn route_log_macros(tokens: TokenStream2) -> TokenStream2 {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream2::new();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Group(group) => {
                let mut routed = Group::new(group.delimiter(), route_log_macros(group.stream()));
                routed.set_span(group.span());
                out.extend([TokenTree::Group(routed)]);
            }
            TokenTree::Ident(ident)
                if (ident == "eprintln" || ident == "println")
                    && matches!(tokens.get(i + 1), Some(TokenTree::Punct(bang)) if bang.as_char() == '!')
                    && !matches!(i.checked_sub(1).map(|before| &tokens[before]), Some(TokenTree::Punct(colon)) if colon.as_char() == ':') =>
            {
                out.extend(quote_spanned! {ident.span()=> ::ignite::#ident});
            }
            other => out.extend([other.clone()]),
        }
    }
    out
}
