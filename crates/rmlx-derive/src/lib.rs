//! `#[derive(Module)]` for `rmlx-nn`.
//!
//! The derive writes `rmlx_nn::Module` for a struct with named fields: each field becomes a
//! member under its name (MLX's key), read through `rmlx_nn::ModuleValue`, so arrays (and
//! `Option`, `Vec`, maps of them) are parameters and modules (and containers of them) are
//! children. Plain configuration fields (numbers, `bool`, `String`, `Dtype`, and tuples,
//! arrays, `Vec`s and `Option`s of them) are skipped without an attribute. A field of type
//! `ModuleState` holds the training flag and the frozen keys.
//!
//! It also writes `Display`, printing the module as MLX does.
//!
//! Attributes:
//! - on the struct: `#[module(name = "MLP")]` (the printed class name, default the struct's
//!   name), `#[module(name_fn = path::to::fn)]` (a `fn(&Self) -> &'static str`, for a layer
//!   whose printed class changes, e.g. a Linear quantized in place), `#[module(repr = path::to::fn)]` (a `fn(&Self) -> String` giving the text printed
//!   inside the parentheses, MLX's `_extra_repr`), `#[module(quantize = path::to::fn)]` (a
//!   `fn(&mut Self, &QuantizeOptions) -> Result<bool>` that quantizes the layer in place);
//! - on a field: `#[module(skip)]`, `#[module(key = "self")]` (another key, e.g. a Rust
//!   keyword), `#[module(state)]` (the `ModuleState` field, when its type is spelled otherwise).

use proc_macro::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, Type, parse_macro_input};

/// Derives `rmlx_nn::Module`; see the crate documentation for the attributes.
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

struct StructAttrs {
    name: Option<String>,
    name_fn: Option<syn::Path>,
    repr: Option<syn::Path>,
    quantize: Option<syn::Path>,
}

fn struct_attrs(input: &DeriveInput) -> syn::Result<StructAttrs> {
    let mut out = StructAttrs {
        name: None,
        name_fn: None,
        repr: None,
        quantize: None,
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                out.name = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if meta.path.is_ident("name_fn") {
                out.name_fn = Some(meta.value()?.parse::<syn::Path>()?);
            } else if meta.path.is_ident("repr") {
                out.repr = Some(meta.value()?.parse::<syn::Path>()?);
            } else if meta.path.is_ident("quantize") {
                out.quantize = Some(meta.value()?.parse::<syn::Path>()?);
            } else {
                return Err(
                    meta.error("expected `name = \"..\"`, `name_fn`, `repr` or `quantize = path`")
                );
            }
            Ok(())
        })?;
    }
    Ok(out)
}

#[derive(Default)]
struct FieldAttrs {
    skip: bool,
    state: bool,
    key: Option<String>,
}

fn field_attrs(field: &syn::Field) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("skip") {
                out.skip = true;
            } else if meta.path.is_ident("state") {
                out.state = true;
            } else if meta.path.is_ident("key") {
                out.key = Some(meta.value()?.parse::<LitStr>()?.value());
            } else {
                return Err(meta.error("expected `skip`, `state` or `key = \"..\"`"));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// The last path segment's name of a type (`rmlx_nn::ModuleState` → `ModuleState`).
fn last_segment(ty: &Type) -> Option<(String, Option<&syn::PathArguments>)> {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| (s.ident.to_string(), Some(&s.arguments))),
        _ => None,
    }
}

/// Whether a field's type is plain configuration (never a parameter or a module).
fn is_plain(ty: &Type) -> bool {
    const PLAIN: &[&str] = &[
        "bool",
        "char",
        "f32",
        "f64",
        "i8",
        "i16",
        "i32",
        "i64",
        "i128",
        "isize",
        "u8",
        "u16",
        "u32",
        "u64",
        "u128",
        "usize",
        "String",
        "str",
        "Dtype",
        "PhantomData",
    ];
    match ty {
        Type::Tuple(t) => t.elems.iter().all(is_plain),
        Type::Array(a) => is_plain(&a.elem),
        Type::Reference(r) => is_plain(&r.elem),
        Type::Path(_) => {
            let Some((name, args)) = last_segment(ty) else {
                return false;
            };
            if PLAIN.contains(&name.as_str()) {
                return true;
            }
            if matches!(name.as_str(), "Vec" | "Option" | "Box")
                && let Some(syn::PathArguments::AngleBracketed(a)) = args
            {
                return a.args.iter().all(|g| match g {
                    syn::GenericArgument::Type(t) => is_plain(t),
                    _ => true,
                });
            }
            false
        }
        _ => false,
    }
}

/// How the user's crate reaches rmlx-nn: `::rmlx_nn` when it depends on it (rmlx-nn itself
/// aliases its own name, so its doc tests and its own code work too), else `::rmlx::nn`
/// through the facade.
fn nn_path() -> proc_macro2::TokenStream {
    use proc_macro_crate::{FoundCrate, crate_name};
    match crate_name("rmlx-nn") {
        Ok(FoundCrate::Name(name)) => {
            let id = syn::Ident::new(&name, proc_macro2::Span::call_site());
            quote! { ::#id }
        }
        Ok(FoundCrate::Itself) => quote! { ::rmlx_nn },
        Err(_) => match crate_name("rmlx") {
            Ok(FoundCrate::Name(name)) => {
                let id = syn::Ident::new(&name, proc_macro2::Span::call_site());
                quote! { ::#id::nn }
            }
            _ => quote! { ::rmlx::nn },
        },
    }
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let ident = &input.ident;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            ident,
            "#[derive(Module)] works on structs only",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            ident,
            "#[derive(Module)] needs named fields",
        ));
    };
    let attrs = struct_attrs(input)?;
    let nn = nn_path();
    let name = attrs.name.unwrap_or_else(|| ident.to_string());
    let mut members = Vec::new();
    let mut members_mut = Vec::new();
    let mut state_field = None;
    for field in &fields.named {
        let fa = field_attrs(field)?;
        let fid = field.ident.as_ref().expect("named field");
        let is_state_type = last_segment(&field.ty).is_some_and(|(n, _)| n == "ModuleState");
        if fa.state || is_state_type {
            if state_field.is_some() {
                return Err(syn::Error::new_spanned(
                    fid,
                    "a module has one ModuleState field",
                ));
            }
            state_field = Some(fid.clone());
            continue;
        }
        if fa.skip || is_plain(&field.ty) {
            continue;
        }
        let key = fa
            .key
            .unwrap_or_else(|| fid.to_string().trim_start_matches("r#").to_string());
        members.push(quote! {
            if let Some(m) = #nn::ModuleValue::member(&self.#fid) {
                out.push((#key.to_string(), m));
            }
        });
        members_mut.push(quote! {
            if let Some(m) = #nn::ModuleValue::member_mut(&mut self.#fid) {
                out.push((#key.to_string(), m));
            }
        });
    }
    let state = match &state_field {
        Some(f) => quote! {
            fn module_state(&self) -> Option<&#nn::ModuleState> { Some(&self.#f) }
            fn module_state_mut(&mut self) -> Option<&mut #nn::ModuleState> { Some(&mut self.#f) }
        },
        None => quote! {},
    };
    let repr = match &attrs.repr {
        Some(p) => quote! { fn extra_repr(&self) -> String { #p(self) } },
        None => quote! {},
    };
    let quantize = match &attrs.quantize {
        Some(p) => quote! {
            fn quantize_in_place(&mut self, options: &#nn::QuantizeOptions)
                -> #nn::core::Result<bool> { #p(self, options) }
        },
        None => quote! {},
    };
    let type_name = match &attrs.name_fn {
        Some(p) => quote! { #p(self) },
        None => quote! { #name },
    };
    let (impl_g, ty_g, where_g) = input.generics.split_for_impl();
    Ok(quote! {
        impl #impl_g #nn::Module for #ident #ty_g #where_g {
            fn type_name(&self) -> &str { #type_name }
            fn members(&self) -> Vec<(String, #nn::Member<'_>)> {
                let mut out = Vec::new();
                #(#members)*
                out
            }
            fn members_mut(&mut self) -> Vec<(String, #nn::MemberMut<'_>)> {
                let mut out = Vec::new();
                #(#members_mut)*
                out
            }
            #state
            #repr
            #quantize
        }

        impl #impl_g ::std::fmt::Display for #ident #ty_g #where_g {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&#nn::Module::repr(self))
            }
        }
    })
}
