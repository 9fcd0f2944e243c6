//! The `Module` trait: MLX's `nn.Module` API over structs whose fields are parameters
//! (arrays) and children (modules), as `#[derive(Module)]` describes them.
//!
//! MLX's module is a Python dict of its attributes; here a module lists its members
//! ([`Module::members`]) and every MLX method (`parameters`, `update`, `freeze`, `apply`, ...)
//! walks those lists with MLX's rules, so trees, keys and orders come out as MLX's.

use crate::core::{self as mx, Array, Dtype, Error, Result, tree::Tree};
use crate::pyrepr::py_shape;
use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;

/// What a module keeps besides its members: the training flag and the frozen keys (MLX's
/// `_training` and `_no_grad`). A struct deriving `Module` holds one in a field of this type;
/// a struct without one has no parameters of its own to freeze and takes its training flag
/// from its children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleState {
    /// Whether the module is in training mode.
    pub training: bool,
    /// Keys of this module's members whose gradients are not computed.
    pub no_grad: BTreeSet<String>,
}

impl Default for ModuleState {
    fn default() -> Self {
        ModuleState {
            training: true,
            no_grad: BTreeSet::new(),
        }
    }
}

/// An array that a module's `forward` (which takes `&self`) may replace: BatchNorm's running
/// statistics. It is a parameter like any array member (MLX lists running statistics among
/// the parameters); cloning a module copies the cell, so clones are independent.
pub struct ArrayCell(RwLock<Array>);

impl ArrayCell {
    /// A cell holding `a`.
    pub fn new(a: Array) -> Self {
        ArrayCell(RwLock::new(a))
    }

    /// The array held now.
    pub fn get(&self) -> Array {
        match self.0.read() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the array.
    pub fn set(&self, a: Array) {
        match self.0.write() {
            Ok(mut slot) => *slot = a,
            Err(poisoned) => *poisoned.into_inner() = a,
        }
    }

    /// The array, mutably (no lock needed with `&mut`).
    pub fn get_mut(&mut self) -> &mut Array {
        match self.0.get_mut() {
            Ok(a) => a,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl Clone for ArrayCell {
    fn clone(&self) -> Self {
        ArrayCell::new(self.get())
    }
}

impl std::fmt::Debug for ArrayCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ArrayCell").field(&self.get()).finish()
    }
}

/// A read-only view of one member of a module.
pub enum Member<'a> {
    /// An array: a parameter.
    Array(&'a Array),
    /// An array in an [`ArrayCell`]: a parameter that forward may replace.
    Cell(&'a ArrayCell),
    /// A child module.
    Module(&'a dyn Module),
    /// A list of members (a `Vec` field).
    List(Vec<Member<'a>>),
    /// A map of members (a `BTreeMap`/`HashMap` field, keys sorted).
    Dict(Vec<(String, Member<'a>)>),
    /// Anything else inside a container (an absent `Option`): MLX shows it as `{}`.
    Other,
}

/// A mutable view of one member of a module.
pub enum MemberMut<'a> {
    /// An array (or the array of a cell).
    Array(&'a mut Array),
    /// A child module, which `update_modules` may replace.
    Module(&'a mut dyn ModuleSlot),
    /// A list of members.
    List(Vec<MemberMut<'a>>),
    /// A map of members.
    Dict(Vec<(String, MemberMut<'a>)>),
    /// Anything else.
    Other,
}

/// A place holding a module: the module itself, or a `Box<dyn Module>` that can hold any.
pub trait ModuleSlot {
    /// The module held.
    fn module(&self) -> &dyn Module;
    /// The module held, mutably.
    fn module_mut(&mut self) -> &mut dyn Module;
    /// Puts `new` in the place (an error if the place cannot hold its type).
    fn replace(&mut self, new: Box<dyn Module>) -> Result<()>;
}

impl<M: Module> ModuleSlot for M {
    fn module(&self) -> &dyn Module {
        self
    }
    fn module_mut(&mut self) -> &mut dyn Module {
        self
    }
    fn replace(&mut self, new: Box<dyn Module>) -> Result<()> {
        let name = new.type_name().to_string();
        match new.into_any().downcast::<M>() {
            Ok(m) => {
                *self = *m;
                Ok(())
            }
            Err(_) => Err(Error::value(format!(
                "Received invalid type: {name} (the field holds a {}).",
                self.type_name()
            ))),
        }
    }
}

impl ModuleSlot for Box<dyn Module> {
    fn module(&self) -> &dyn Module {
        &**self
    }
    fn module_mut(&mut self) -> &mut dyn Module {
        &mut **self
    }
    fn replace(&mut self, new: Box<dyn Module>) -> Result<()> {
        *self = new;
        Ok(())
    }
}

/// A field type that can be a module's member: arrays, cells, modules, and `Option`, `Vec`,
/// `Box` and maps of them. `#[derive(Module)]` reads each field through this trait.
pub trait ModuleValue {
    /// The member, or `None` when absent (an `Option` that is `None`).
    fn member(&self) -> Option<Member<'_>>;
    /// The member, mutably.
    fn member_mut(&mut self) -> Option<MemberMut<'_>>;
}

impl ModuleValue for Array {
    fn member(&self) -> Option<Member<'_>> {
        Some(Member::Array(self))
    }
    fn member_mut(&mut self) -> Option<MemberMut<'_>> {
        Some(MemberMut::Array(self))
    }
}

impl ModuleValue for ArrayCell {
    fn member(&self) -> Option<Member<'_>> {
        Some(Member::Cell(self))
    }
    fn member_mut(&mut self) -> Option<MemberMut<'_>> {
        Some(MemberMut::Array(self.get_mut()))
    }
}

impl<M: Module> ModuleValue for M {
    fn member(&self) -> Option<Member<'_>> {
        Some(Member::Module(self))
    }
    fn member_mut(&mut self) -> Option<MemberMut<'_>> {
        Some(MemberMut::Module(self))
    }
}

impl ModuleValue for Box<dyn Module> {
    fn member(&self) -> Option<Member<'_>> {
        Some(Member::Module(&**self))
    }
    fn member_mut(&mut self) -> Option<MemberMut<'_>> {
        Some(MemberMut::Module(self))
    }
}

impl<T: ModuleValue> ModuleValue for Option<T> {
    fn member(&self) -> Option<Member<'_>> {
        self.as_ref().and_then(ModuleValue::member)
    }
    fn member_mut(&mut self) -> Option<MemberMut<'_>> {
        self.as_mut().and_then(ModuleValue::member_mut)
    }
}

impl<T: ModuleValue> ModuleValue for Vec<T> {
    fn member(&self) -> Option<Member<'_>> {
        Some(Member::List(
            self.iter()
                .map(|v| v.member().unwrap_or(Member::Other))
                .collect(),
        ))
    }
    fn member_mut(&mut self) -> Option<MemberMut<'_>> {
        Some(MemberMut::List(
            self.iter_mut()
                .map(|v| v.member_mut().unwrap_or(MemberMut::Other))
                .collect(),
        ))
    }
}

impl<T: ModuleValue> ModuleValue for BTreeMap<String, T> {
    fn member(&self) -> Option<Member<'_>> {
        Some(Member::Dict(
            self.iter()
                .map(|(k, v)| (k.clone(), v.member().unwrap_or(Member::Other)))
                .collect(),
        ))
    }
    fn member_mut(&mut self) -> Option<MemberMut<'_>> {
        Some(MemberMut::Dict(
            self.iter_mut()
                .map(|(k, v)| (k.clone(), v.member_mut().unwrap_or(MemberMut::Other)))
                .collect(),
        ))
    }
}

impl<T: ModuleValue> ModuleValue for HashMap<String, T> {
    fn member(&self) -> Option<Member<'_>> {
        let mut items: Vec<_> = self.iter().collect();
        items.sort_by(|a, b| a.0.cmp(b.0));
        Some(Member::Dict(
            items
                .into_iter()
                .map(|(k, v)| (k.clone(), v.member().unwrap_or(Member::Other)))
                .collect(),
        ))
    }
    fn member_mut(&mut self) -> Option<MemberMut<'_>> {
        let mut items: Vec<_> = self.iter_mut().collect();
        items.sort_by(|a, b| a.0.cmp(b.0));
        Some(MemberMut::Dict(
            items
                .into_iter()
                .map(|(k, v)| (k.clone(), v.member_mut().unwrap_or(MemberMut::Other)))
                .collect(),
        ))
    }
}

/// Cloning and downcasting of modules, implemented for every `Module + Clone`: a module type
/// must derive `Clone` (cloning copies array handles, not data).
pub trait ModuleBase: Any {
    /// A boxed copy.
    fn clone_module(&self) -> Box<dyn Module>;
    /// For downcasting to the concrete layer type.
    fn as_any(&self) -> &dyn Any;
    /// For downcasting to the concrete layer type, mutably.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// For downcasting a boxed module.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    /// `self` as a module trait object.
    fn as_dyn(&self) -> &dyn Module;
    /// `self` as a mutable module trait object.
    fn as_dyn_mut(&mut self) -> &mut dyn Module;
}

impl<T: Module + Clone> ModuleBase for T {
    fn clone_module(&self) -> Box<dyn Module> {
        Box::new(self.clone())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
    fn as_dyn(&self) -> &dyn Module {
        self
    }
    fn as_dyn_mut(&mut self) -> &mut dyn Module {
        self
    }
}

impl Clone for Box<dyn Module> {
    fn clone(&self) -> Self {
        self.clone_module()
    }
}

/// Options of `nn::quantize` and of each layer's `to_quantized` (MLX's `group_size`, `bits`,
/// `mode`; `None` takes the mode's default, as in MLX).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizeOptions {
    /// Elements sharing one scale (MLX's default 64 for "affine").
    pub group_size: Option<usize>,
    /// Bits per element (MLX's default 4 for "affine").
    pub bits: Option<usize>,
    /// The quantization mode.
    pub mode: mx::QuantMode,
}

impl Default for QuantizeOptions {
    fn default() -> Self {
        QuantizeOptions {
            group_size: None,
            bits: None,
            mode: mx::QuantMode::Affine,
        }
    }
}

/// Options of [`Module::freeze`] and [`Module::unfreeze`] (MLX's keyword arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreezeOptions {
    /// Also (un)freeze the submodules' parameters. Default `true`.
    pub recurse: bool,
    /// Only these keys (`None`: every parameter of each module).
    pub keys: Option<Vec<String>>,
    /// Check that the keys exist. Default `false`.
    pub strict: bool,
}

impl Default for FreezeOptions {
    fn default() -> Self {
        FreezeOptions {
            recurse: true,
            keys: None,
            strict: false,
        }
    }
}

impl FreezeOptions {
    /// Only `keys`, recursively, not strict.
    pub fn keys<S: Into<String>>(keys: impl IntoIterator<Item = S>) -> Self {
        FreezeOptions {
            keys: Some(keys.into_iter().map(Into::into).collect()),
            ..Default::default()
        }
    }
}

/// A filter of [`Module::filter_and_map`]: the containing module, the member's key and the
/// member; MLX's `filter_fn(module, key, value)`.
pub type MemberFilter<'f> = dyn Fn(&dyn Module, &str, &Member<'_>) -> bool + 'f;

/// MLX's `Module.valid_parameter_filter`: arrays, modules and containers, under keys that do
/// not start with `_`.
pub fn valid_parameter_filter(_: &dyn Module, key: &str, value: &Member<'_>) -> bool {
    !matches!(value, Member::Other) && !key.starts_with('_')
}

/// MLX's `Module.valid_child_filter`: modules and containers (which may hold modules).
pub fn valid_child_filter(_: &dyn Module, _: &str, value: &Member<'_>) -> bool {
    matches!(value, Member::Module(_) | Member::List(_) | Member::Dict(_))
}

/// MLX's `Module.trainable_parameter_filter`: a valid parameter that is not frozen.
pub fn trainable_parameter_filter(module: &dyn Module, key: &str, value: &Member<'_>) -> bool {
    valid_parameter_filter(module, key, value)
        && !module
            .module_state()
            .is_some_and(|s| s.no_grad.contains(key))
}

/// A module: parameters and children, reached through its members, with MLX's `nn.Module`
/// methods. Derive it (`#[derive(Clone, Module)]`) rather than writing it.
///
/// ```
/// use rmlx_nn::{self as nn, Module};
/// use rmlx_nn::core as mx;
///
/// #[derive(Clone, Module)]
/// struct Mlp {
///     layers: Vec<nn::Linear>,
/// }
///
/// let mlp = Mlp { layers: vec![nn::Linear::new(2, 8)?, nn::Linear::new(8, 1)?] };
/// let keys: Vec<String> = mx::tree::tree_flatten(&mlp.parameters()?, "")
///     .into_iter().map(|(k, _)| k).collect();
/// assert_eq!(keys, ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]);
/// assert_eq!(mlp.to_string(), "Mlp(\n  (layers.0): Linear(input_dims=2, output_dims=8, bias=True)\n  \
///     (layers.1): Linear(input_dims=8, output_dims=1, bias=True)\n)");
/// # Ok::<(), mx::Error>(())
/// ```
pub trait Module: ModuleBase + Send + Sync {
    /// The class name MLX prints (`Linear`).
    fn type_name(&self) -> &str;

    /// The members, in declaration order, under their MLX keys.
    fn members(&self) -> Vec<(String, Member<'_>)>;

    /// The members, mutably.
    fn members_mut(&mut self) -> Vec<(String, MemberMut<'_>)>;

    /// What is printed inside the parentheses (MLX's `_extra_repr`).
    fn extra_repr(&self) -> String {
        String::new()
    }

    /// The training flag and frozen keys, when the module holds them.
    fn module_state(&self) -> Option<&ModuleState> {
        None
    }

    /// The training flag and frozen keys, mutably.
    fn module_state_mut(&mut self) -> Option<&mut ModuleState> {
        None
    }

    /// Quantizes the layer in place (what `nn::quantize` does to each layer it selects);
    /// `Ok(false)` for a layer that cannot be quantized.
    fn quantize_in_place(&mut self, options: &QuantizeOptions) -> Result<bool> {
        let _ = options;
        Ok(false)
    }

    // ----- MLX's Module API -----

    /// MLX's `filter_and_map`: the members that `filter` keeps, recursively, with each array
    /// passed through `map`.
    fn filter_and_map(
        &self,
        filter: &MemberFilter<'_>,
        map: &mut dyn FnMut(&Array) -> Result<Array>,
    ) -> Result<Tree> {
        let mut items = Vec::new();
        for (k, v) in self.members() {
            if filter(self.as_dyn(), &k, &v) {
                let t = unwrap_member(self.as_dyn(), &k, &v, filter, map)?;
                items.push((k, t));
            }
        }
        Ok(Tree::Dict(items))
    }

    /// Every array member, recursively, as a tree of dicts and lists (MLX's `parameters`).
    fn parameters(&self) -> Result<Tree> {
        self.filter_and_map(&valid_parameter_filter, &mut |a| Ok(a.clone()))
    }

    /// The parameters that are not frozen (MLX's `trainable_parameters`).
    fn trainable_parameters(&self) -> Result<Tree> {
        self.filter_and_map(&trainable_parameter_filter, &mut |a| Ok(a.clone()))
    }

    /// MLX's `state`: every array of the module (parameters, frozen ones and running
    /// statistics included), as a tree.
    fn state(&self) -> Result<Tree> {
        self.parameters()
    }

    /// The direct child modules, flattened with MLX's dotted keys (`layers.0`).
    fn children(&self) -> Vec<(String, &dyn Module)> {
        let mut out = Vec::new();
        for (k, v) in self.members() {
            collect_modules(&k, v, &mut out);
        }
        out
    }

    /// The descendants that have no children, with their dotted paths from this module
    /// (MLX's `leaf_modules`, flattened).
    fn leaf_modules(&self) -> Vec<(String, &dyn Module)> {
        let mut out = Vec::new();
        let mut stack: Vec<(String, &dyn Module)> = self.children();
        stack.reverse();
        while let Some((path, m)) = stack.pop() {
            let kids = m.children();
            if kids.is_empty() {
                out.push((path, m));
            } else {
                for (k, c) in kids.into_iter().rev() {
                    stack.push((format!("{path}.{k}"), c));
                }
            }
        }
        out
    }

    /// This module and every descendant with its dotted path ("" for this one), in MLX's
    /// order (a depth-first walk that takes the last child first).
    fn named_modules(&self) -> Vec<(String, &dyn Module)> {
        let mut out = Vec::new();
        let mut stack: Vec<(String, &dyn Module)> = vec![(String::new(), self.as_dyn())];
        while let Some((prefix, m)) = stack.pop() {
            for (k, c) in m.children() {
                let path = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                stack.push((path, c));
            }
            out.push((prefix, m));
        }
        out
    }

    /// This module and every descendant (MLX's `modules`).
    fn modules(&self) -> Vec<&dyn Module> {
        self.named_modules().into_iter().map(|(_, m)| m).collect()
    }

    /// Calls `f(path, module)` on this module and every descendant, in the order of
    /// [`Module::named_modules`] (MLX's `apply_to_modules`).
    fn apply_to_modules(
        &mut self,
        f: &mut dyn FnMut(&str, &mut dyn Module) -> Result<()>,
    ) -> Result<()> {
        apply_to_modules_rec("", self.as_dyn_mut(), f)
    }

    /// Replaces parameters with those of `parameters` (a complete or partial tree in the
    /// shape of [`Module::parameters`]). With `strict`, a key the module lacks or a
    /// non-array value for an array is an error (MLX's `update`).
    fn update(&mut self, parameters: &Tree, strict: bool) -> Result<()> {
        update_module(self.as_dyn_mut(), parameters, strict)
    }

    /// Replaces child modules: each `(dotted path, module)` pair puts the module at that path
    /// (MLX's `update_modules`, with the tree given flattened). With `strict`, a path that
    /// names no child module is an error.
    fn update_modules(
        &mut self,
        modules: Vec<(String, Box<dyn Module>)>,
        strict: bool,
    ) -> Result<()> {
        for (path, new) in modules {
            let parts: Vec<&str> = path.split('.').collect();
            replace_module_at(self.as_dyn_mut(), &parts, new, strict)?;
        }
        Ok(())
    }

    /// Maps every parameter that `filter` keeps (default: every valid parameter) through
    /// `map` and updates the module with the results (MLX's `apply`).
    fn apply(
        &mut self,
        map: &mut dyn FnMut(&Array) -> Result<Array>,
        filter: Option<&MemberFilter<'_>>,
    ) -> Result<()> {
        let mapped = self.filter_and_map(filter.unwrap_or(&valid_parameter_filter), map)?;
        self.update(&mapped, true)
    }

    /// Casts the parameters whose dtype satisfies `predicate` (default: floating dtypes) to
    /// `dtype` (MLX's `set_dtype`).
    fn set_dtype(&mut self, dtype: Dtype, predicate: Option<&dyn Fn(Dtype) -> bool>) -> Result<()> {
        let default = |d: Dtype| mx::issubdtype(d, mx::floating);
        let pred: &dyn Fn(Dtype) -> bool = predicate.unwrap_or(&default);
        self.apply(
            &mut |a| {
                if pred(a.dtype()) {
                    a.astype(dtype)
                } else {
                    Ok(a.clone())
                }
            },
            None,
        )
    }

    /// Whether the module is in training mode (a module without a [`ModuleState`] answers
    /// for its first child that has one, else `true`).
    fn training(&self) -> bool {
        if let Some(s) = self.module_state() {
            return s.training;
        }
        self.named_modules()
            .into_iter()
            .find_map(|(_, m)| m.module_state().map(|s| s.training))
            .unwrap_or(true)
    }

    /// Sets training mode on this module and every descendant (MLX's `train(mode)`).
    fn train(&mut self, mode: bool) -> Result<()> {
        self.apply_to_modules(&mut |_, m| {
            if let Some(s) = m.module_state_mut() {
                s.training = mode;
            }
            Ok(())
        })
    }

    /// Evaluation mode: `train(false)`.
    fn eval(&mut self) -> Result<()> {
        self.train(false)
    }

    /// Freezes parameters: no gradients are computed for them (MLX's `freeze`).
    fn freeze(&mut self, options: &FreezeOptions) -> Result<()> {
        set_frozen(self.as_dyn_mut(), options, true)
    }

    /// Unfreezes parameters (MLX's `unfreeze`).
    fn unfreeze(&mut self, options: &FreezeOptions) -> Result<()> {
        set_frozen(self.as_dyn_mut(), options, false)
    }

    /// Saves the parameters under their dotted keys to `.npz` or `.safetensors`, by the
    /// file's extension (MLX's `save_weights`).
    fn save_weights(&self, path: &str) -> Result<()> {
        let flat = flat_parameters(&self.parameters()?);
        let pairs: Vec<(&str, &Array)> = flat.iter().map(|(k, a)| (k.as_str(), a)).collect();
        if path.ends_with(".npz") {
            mx::io::savez(path, &pairs)
        } else if path.ends_with(".safetensors") {
            mx::io::save_safetensors(path, &pairs, &[])
        } else {
            Err(Error::value(format!(
                "Unsupported file extension for {path}. Use '.npz' or '.safetensors'."
            )))
        }
    }

    /// Loads weights from a `.npz` or `.safetensors` file (MLX's `load_weights` with a path).
    fn load_weights(&mut self, path: &str, strict: bool) -> Result<()> {
        let weights = mx::io::load(path)?.into_arrays();
        self.load_weights_from(weights, strict)
    }

    /// Loads `(dotted key, array)` pairs (MLX's `load_weights` with a list). With `strict`,
    /// the keys must be exactly the model's and the shapes equal; the error names the extra
    /// or missing keys or the mismatched shape.
    fn load_weights_from(&mut self, weights: Vec<(String, Array)>, strict: bool) -> Result<()> {
        if strict {
            let current: BTreeMap<String, Array> =
                flat_parameters(&self.parameters()?).into_iter().collect();
            let new: BTreeMap<&str, &Array> =
                weights.iter().map(|(k, a)| (k.as_str(), a)).collect();
            let extras: Vec<&str> = new
                .keys()
                .copied()
                .filter(|k| !current.contains_key(*k))
                .collect();
            if !extras.is_empty() {
                return Err(Error::value(format!(
                    "Received {} parameters not in model: \n{}.",
                    extras.len(),
                    extras.join(",\n")
                )));
            }
            let missing: Vec<&str> = current
                .keys()
                .map(String::as_str)
                .filter(|k| !new.contains_key(k))
                .collect();
            if !missing.is_empty() {
                return Err(Error::value(format!(
                    "Missing {} parameters: \n{}.",
                    missing.len(),
                    missing.join(",\n")
                )));
            }
            for (k, v) in &current {
                let v_new = new[k.as_str()];
                if v_new.shape() != v.shape() {
                    return Err(Error::value(format!(
                        "Expected shape {} but received shape {} for parameter {k}",
                        py_shape(v.shape()),
                        py_shape(v_new.shape())
                    )));
                }
            }
        }
        if weights.is_empty() {
            return Ok(());
        }
        let items: Vec<(String, Tree)> = weights
            .into_iter()
            .map(|(k, a)| (k, Tree::Array(a)))
            .collect();
        self.update(&mx::tree::tree_unflatten(&items), false)
    }

    /// The module as MLX prints it: `Linear(input_dims=2, output_dims=8, bias=True)`, children
    /// indented below with their keys.
    fn repr(&self) -> String {
        let mut s = format!("{}({}", self.type_name(), self.extra_repr());
        let kids = self.children();
        for (k, m) in &kids {
            s.push('\n');
            let child = format!("({k}): {}", m.repr());
            let indented: Vec<String> = child
                .lines()
                .map(|l| {
                    if l.is_empty() {
                        String::new()
                    } else {
                        format!("  {l}")
                    }
                })
                .collect();
            s.push_str(&indented.join("\n"));
        }
        if !kids.is_empty() {
            s.push('\n');
        }
        s.push(')');
        s
    }
}

/// The array leaves of a parameter tree with their dotted keys.
pub fn flat_parameters(tree: &Tree) -> Vec<(String, Array)> {
    mx::tree::tree_flatten(tree, "")
        .into_iter()
        .filter_map(|(k, t)| t.as_array().cloned().map(|a| (k, a)))
        .collect()
}

impl std::fmt::Display for dyn Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.repr())
    }
}

impl std::fmt::Debug for dyn Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.repr())
    }
}

/// MLX's `_unwrap`: a member kept by the filter, as a tree.
fn unwrap_member(
    module: &dyn Module,
    key: &str,
    value: &Member<'_>,
    filter: &MemberFilter<'_>,
    map: &mut dyn FnMut(&Array) -> Result<Array>,
) -> Result<Tree> {
    Ok(match value {
        Member::Array(a) => Tree::Array(map(a)?),
        Member::Cell(c) => Tree::Array(map(&c.get())?),
        Member::Other => Tree::None,
        Member::Module(m) => m.filter_and_map(filter, map)?,
        Member::Dict(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (k, v) in items {
                let tk = format!("{key}.{k}");
                let t = if filter(module, &tk, v) {
                    unwrap_member(module, &tk, v, filter, map)?
                } else {
                    Tree::Dict(Vec::new())
                };
                out.push((k.clone(), t));
            }
            Tree::Dict(out)
        }
        Member::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, v) in items.iter().enumerate() {
                let tk = format!("{key}.{i}");
                out.push(if filter(module, &tk, v) {
                    unwrap_member(module, &tk, v, filter, map)?
                } else {
                    Tree::Dict(Vec::new())
                });
            }
            Tree::List(out)
        }
    })
}

/// The modules inside one member, with dotted paths.
fn collect_modules<'a>(path: &str, value: Member<'a>, out: &mut Vec<(String, &'a dyn Module)>) {
    match value {
        Member::Module(m) => out.push((path.to_string(), m)),
        Member::List(items) => {
            for (i, v) in items.into_iter().enumerate() {
                collect_modules(&format!("{path}.{i}"), v, out);
            }
        }
        Member::Dict(items) => {
            for (k, v) in items {
                collect_modules(&format!("{path}.{k}"), v, out);
            }
        }
        Member::Array(_) | Member::Cell(_) | Member::Other => {}
    }
}

/// The child modules inside one mutable member, with dotted paths.
fn collect_modules_mut<'a>(
    path: &str,
    value: MemberMut<'a>,
    out: &mut Vec<(String, &'a mut dyn Module)>,
) {
    match value {
        MemberMut::Module(m) => out.push((path.to_string(), m.module_mut())),
        MemberMut::List(items) => {
            for (i, v) in items.into_iter().enumerate() {
                collect_modules_mut(&format!("{path}.{i}"), v, out);
            }
        }
        MemberMut::Dict(items) => {
            for (k, v) in items {
                collect_modules_mut(&format!("{path}.{k}"), v, out);
            }
        }
        MemberMut::Array(_) | MemberMut::Other => {}
    }
}

fn children_mut(m: &mut dyn Module) -> Vec<(String, &mut dyn Module)> {
    let mut out = Vec::new();
    for (k, v) in m.members_mut() {
        collect_modules_mut(&k, v, &mut out);
    }
    out
}

fn apply_to_modules_rec(
    prefix: &str,
    m: &mut dyn Module,
    f: &mut dyn FnMut(&str, &mut dyn Module) -> Result<()>,
) -> Result<()> {
    f(prefix, m)?;
    // MLX walks with a stack, so the last child comes first.
    for (k, c) in children_mut(m).into_iter().rev() {
        let path = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        apply_to_modules_rec(&path, c, f)?;
    }
    Ok(())
}

/// The Python type name MLX's errors print for a tree value.
fn tree_type_name(t: &Tree) -> &'static str {
    match t {
        Tree::None => "NoneType",
        Tree::Array(_) => "array",
        Tree::List(_) => "list",
        Tree::Tuple(_) => "tuple",
        Tree::Dict(_) => "dict",
    }
}

fn update_module(m: &mut dyn Module, parameters: &Tree, strict: bool) -> Result<()> {
    let Tree::Dict(items) = parameters else {
        if strict {
            return Err(Error::value(format!(
                "Received invalid type: {}.",
                tree_type_name(parameters)
            )));
        }
        return Ok(());
    };
    let mut members = m.members_mut();
    for (k, new) in items {
        match members.iter_mut().find(|(mk, _)| mk == k) {
            Some((_, dst)) => update_member(dst, new, strict)?,
            None if strict => {
                return Err(Error::value(format!(
                    "Module does not have parameter named \"{k}\"."
                )));
            }
            None => {}
        }
    }
    Ok(())
}

fn update_member(dst: &mut MemberMut<'_>, new: &Tree, strict: bool) -> Result<()> {
    match dst {
        MemberMut::Array(a) => match new {
            Tree::Array(n) => **a = n.clone(),
            other if strict => {
                return Err(Error::value(format!(
                    "Received invalid type: {}.",
                    tree_type_name(other)
                )));
            }
            _ => {}
        },
        MemberMut::Module(slot) => update_module(slot.module_mut(), new, strict)?,
        MemberMut::Dict(dst_items) => match new {
            Tree::Dict(items) => {
                for (k, v) in items {
                    match dst_items.iter_mut().find(|(dk, _)| dk == k) {
                        Some((_, d)) => update_member(d, v, strict)?,
                        None if strict => {
                            return Err(Error::value(format!(
                                "Module does not have parameter named \"{k}\"."
                            )));
                        }
                        None => {}
                    }
                }
            }
            other => return invalid_unless_lax(other, strict),
        },
        MemberMut::List(dst_items) => match new {
            Tree::List(items) => {
                let len = dst_items.len();
                for (i, v) in items.iter().enumerate() {
                    match dst_items.get_mut(i) {
                        Some(d) => update_member(d, v, strict)?,
                        None if strict => {
                            return Err(Error::value(format!(
                                "List index {i} is out of bounds for destination of length {len}."
                            )));
                        }
                        None => {}
                    }
                }
            }
            other => return invalid_unless_lax(other, strict),
        },
        MemberMut::Other => return invalid_unless_lax(new, strict),
    }
    Ok(())
}

fn invalid_unless_lax(value: &Tree, strict: bool) -> Result<()> {
    // MLX recurses into a container with a value that is neither a dict nor a list and
    // raises only when strict; an empty dict (a parameterless child) is always fine.
    if strict && !matches!(value, Tree::Dict(d) if d.is_empty()) {
        return Err(Error::value(format!(
            "Received invalid type: {}.",
            tree_type_name(value)
        )));
    }
    Ok(())
}

fn replace_module_at(
    m: &mut dyn Module,
    parts: &[&str],
    new: Box<dyn Module>,
    strict: bool,
) -> Result<()> {
    let Some((first, rest)) = parts.split_first() else {
        return Ok(());
    };
    let mut members = m.members_mut();
    let Some((_, member)) = members.iter_mut().find(|(k, _)| k == first) else {
        return if strict {
            Err(Error::value(format!(
                "Module does not have sub-module named \"{first}\"."
            )))
        } else {
            Ok(())
        };
    };
    replace_in_member(member, rest, new, strict)
}

fn replace_in_member(
    member: &mut MemberMut<'_>,
    rest: &[&str],
    new: Box<dyn Module>,
    strict: bool,
) -> Result<()> {
    match member {
        MemberMut::Module(slot) if rest.is_empty() => slot.replace(new),
        MemberMut::Module(slot) => replace_module_at(slot.module_mut(), rest, new, strict),
        MemberMut::List(items) => {
            let len = items.len();
            let Some((first, tail)) = rest.split_first() else {
                return lax(
                    strict,
                    "Received invalid type: module (the path names a list).",
                );
            };
            match first.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(item) => replace_in_member(item, tail, new, strict),
                None => lax(
                    strict,
                    &format!(
                        "List index {first} is out of bounds for destination of length {len}."
                    ),
                ),
            }
        }
        MemberMut::Dict(items) => {
            let Some((first, tail)) = rest.split_first() else {
                return lax(
                    strict,
                    "Received invalid type: module (the path names a dict).",
                );
            };
            match items.iter_mut().find(|(k, _)| k == first) {
                Some((_, item)) => replace_in_member(item, tail, new, strict),
                None => lax(
                    strict,
                    &format!("Module does not have sub-module named \"{first}\"."),
                ),
            }
        }
        MemberMut::Array(_) | MemberMut::Other => lax(
            strict,
            "Received invalid type: module (the path names a parameter).",
        ),
    }
}

fn lax(strict: bool, message: &str) -> Result<()> {
    if strict {
        Err(Error::value(message))
    } else {
        Ok(())
    }
}

fn has_member(m: &dyn Module, key: &str) -> bool {
    m.members().iter().any(|(k, _)| k == key)
}

pub(crate) fn set_frozen(
    root: &mut dyn Module,
    options: &FreezeOptions,
    freeze: bool,
) -> Result<()> {
    let mut strict = options.strict;
    if options.recurse
        && strict
        && let Some(keys) = &options.keys
    {
        let modules = root.modules();
        for k in keys {
            if !modules.iter().any(|m| has_member(*m, k)) {
                return Err(Error::key(format!("Module doesn't contain member {k}.")));
            }
        }
        strict = false;
    }
    let mut one = |_: &str, m: &mut dyn Module| -> Result<()> {
        let keys: Vec<String> = match &options.keys {
            Some(keys) => keys.clone(),
            None if freeze => {
                let own = m.filter_and_map(
                    &|mm, k, v| !matches!(v, Member::Module(_)) && valid_parameter_filter(mm, k, v),
                    &mut |a| Ok(a.clone()),
                )?;
                mx::tree::tree_flatten(&own, "")
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect()
            }
            None => Vec::new(),
        };
        if strict && let Some(k) = keys.iter().find(|k| !has_member(m, k)) {
            return Err(Error::key(format!("Module doesn't contain member {k}.")));
        }
        let type_name = m.type_name().to_string();
        // Keys this module has: a module without a ModuleState can only hold none.
        let own: Vec<String> = keys
            .into_iter()
            .filter(|k| has_member(m, k.split('.').next().unwrap_or(k)))
            .collect();
        match m.module_state_mut() {
            Some(s) if freeze => s.no_grad.extend(own),
            Some(s) if options.keys.is_none() => s.no_grad.clear(),
            Some(s) => {
                for k in &own {
                    s.no_grad.remove(k);
                }
            }
            None if own.is_empty() || !freeze => {}
            None => {
                return Err(Error::value(format!(
                    "[freeze] {type_name} has parameters of its own but no ModuleState field to \
                     record that they are frozen; add a field `state: ModuleState`."
                )));
            }
        }
        Ok(())
    };
    if options.recurse {
        apply_to_modules_rec("", root, &mut one)
    } else {
        one("", root)
    }
}
