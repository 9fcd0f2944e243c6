//! Layers that take one array, and `Sequential`, which chains them.

use crate::core::{Array, Result};
use crate::module::{Member, MemberMut, Module, ModuleSlot, ModuleValue};

/// A module called with one array, as MLX's `layer(x)`: what [`Sequential`] chains.
/// Layers with other inputs (attention, recurrent layers with a state) have their own
/// `forward` methods.
pub trait Forward: Module + ForwardClone {
    /// The layer applied to `x`.
    fn forward(&self, x: &Array) -> Result<Array>;
}

/// Cloning of boxed [`Forward`] layers, implemented for every `Forward + Clone`.
pub trait ForwardClone {
    /// A boxed copy.
    fn clone_forward(&self) -> Box<dyn Forward>;
}

impl<T: Forward + Clone> ForwardClone for T {
    fn clone_forward(&self) -> Box<dyn Forward> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn Forward> {
    fn clone(&self) -> Self {
        self.clone_forward()
    }
}

impl ModuleSlot for Box<dyn Forward> {
    fn module(&self) -> &dyn Module {
        &**self
    }
    fn module_mut(&mut self) -> &mut dyn Module {
        &mut **self
    }
    fn replace(&mut self, new: Box<dyn Module>) -> Result<()> {
        Err(crate::core::Error::value(format!(
            "Received invalid type: {} (a Sequential holds Forward layers; replace them through \
             `layers` directly).",
            new.type_name()
        )))
    }
}

impl ModuleValue for Box<dyn Forward> {
    fn member(&self) -> Option<Member<'_>> {
        Some(Member::Module(&**self))
    }
    fn member_mut(&mut self) -> Option<MemberMut<'_>> {
        Some(MemberMut::Module(self))
    }
}

/// Layers called in order, each on the previous one's output (MLX's `nn.Sequential`).
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module};
/// use rmlx_nn::core as mx;
/// let model = nn::Sequential::new()
///     .append(nn::Linear::new(3, 4)?)
///     .append(nn::Identity::new())
///     .append(nn::Linear::new(4, 2)?);
/// assert_eq!(model.forward(&mx::ones(&[5, 3], mx::float32)?)?.shape(), &[5, 2]);
/// assert_eq!(model.children()[1].0, "layers.1");
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone, crate::Module)]
pub struct Sequential {
    /// The layers, applied first to last.
    pub layers: Vec<Box<dyn Forward>>,
}

impl Sequential {
    /// An empty chain (the identity).
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// The chain with `layer` appended.
    pub fn append(mut self, layer: impl Forward + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

impl Forward for Sequential {
    fn forward(&self, x: &Array) -> Result<Array> {
        let mut x = x.clone();
        for layer in &self.layers {
            x = layer.forward(&x)?;
        }
        Ok(x)
    }
}
