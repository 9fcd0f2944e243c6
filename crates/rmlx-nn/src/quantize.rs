//! `nn.quantize`: quantize a model's layers in place.

use crate::core::{Error, Result};
use crate::module::{Module, QuantizeOptions};

/// Decides, for each leaf module (its dotted path and itself), whether to quantize it and with
/// which options (MLX's `class_predicate` returning `False`, `True` or a dict).
pub type ClassPredicate<'a> = dyn Fn(&str, &dyn Module) -> Option<QuantizeOptions> + 'a;

/// Quantizes the leaf modules of `model` in place (MLX's `nn.quantize`): every layer that can
/// be quantized (Linear, Embedding) when `class_predicate` is `None`, else those the predicate
/// selects, with the options it returns. A selected layer that cannot be quantized is an
/// error, as in MLX.
///
/// ```
/// use rmlx_nn::{self as nn, Forward, Module, QuantizeOptions};
/// use rmlx_nn::core as mx;
/// let mut model = nn::Sequential::new().append(nn::Linear::new(64, 64)?).append(nn::Linear::new(64, 8)?);
/// // Quantize all but the last layer.
/// let keep_last = |path: &str, _: &dyn Module| (path != "layers.1").then(QuantizeOptions::default);
/// nn::quantize(&mut model, &QuantizeOptions::default(), Some(&keep_last))?;
/// assert_eq!(model.layers[0].type_name(), "QuantizedLinear");
/// assert_eq!(model.layers[1].type_name(), "Linear");
/// assert_eq!(model.forward(&mx::ones(&[1, 64], mx::float32)?)?.shape(), &[1, 8]);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn quantize(
    model: &mut dyn Module,
    options: &QuantizeOptions,
    class_predicate: Option<&ClassPredicate<'_>>,
) -> Result<()> {
    model.apply_to_modules(&mut |path, m| {
        if !m.children().is_empty() {
            return Ok(());
        }
        let chosen = match class_predicate {
            Some(p) => p(path, m),
            None => Some(options.clone()),
        };
        let Some(opts) = chosen else { return Ok(()) };
        let type_name = m.type_name().to_string();
        if !m.quantize_in_place(&opts)? && class_predicate.is_some() {
            return Err(Error::value(format!(
                "Unable to quantize model of type {type_name}"
            )));
        }
        Ok(())
    })
}
