//! `export_function` / `import_function`: a traced function saved to a file and loaded back,
//! as MLX's `mx.export_function` / `mx.import_function` (rmlx's own file format: a JSON
//! description of the graph and the raw bytes of the arrays it captured).
//!
//! Format: the 8 bytes `RMLXFN1\n`, the header's length (u64, little endian), the header
//! (JSON: inputs, nodes with each primitive's type and parameters, outputs, constants), then
//! the constants' bytes, each at the offset the header gives.

use super::TracingGuard;
use super::autodiff::FnOutputs;
use super::program::{ProgNode, Program, Ref};
use super::tape::placeholder;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitive::{OutputSpec, Primitive};
use crate::primitives::{
    binary, conv, creation, factor, fast, fft, gated_delta, indexing, join, linalg, quantized,
    random, rearrange, reduce, scan, shape, sort, ternary, transform, unary,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

const MAGIC: &[u8; 8] = b"RMLXFN1\n";

thread_local! {
    /// How many exports this thread is tracing (MLX's `in_export_tracing`): custom kernels,
    /// which cannot run here, may still be recorded then.
    static EXPORT_TRACING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Whether this thread is tracing a function for export.
pub(crate) fn in_export_tracing() -> bool {
    EXPORT_TRACING.with(|c| c.get() > 0)
}

/// Marks this thread as tracing for export for its lifetime.
struct ExportTracingGuard;

impl ExportTracingGuard {
    fn new() -> ExportTracingGuard {
        EXPORT_TRACING.with(|c| c.set(c.get() + 1));
        ExportTracingGuard
    }
}

impl Drop for ExportTracingGuard {
    fn drop(&mut self) {
        EXPORT_TRACING.with(|c| c.set(c.get() - 1));
    }
}

/// Every exportable primitive type: `encode` finds a primitive's type and parameters, `decode`
/// rebuilds it. The tag is the type's name.
macro_rules! registry {
    ($($m:ident::$T:ident),* $(,)?) => {
        fn encode(p: &dyn Primitive) -> Result<(&'static str, Value)> {
            $(
                if let Some(x) = p.as_any().downcast_ref::<$m::$T>() {
                    return serde_json::to_value(x)
                        .map(|v| (stringify!($T), v))
                        .map_err(|e| Error::value(format!("[export_function] {e}")));
                }
            )*
            Err(Error::value(format!(
                "[export_function] Cannot export a function holding the primitive {}.",
                p.name()
            )))
        }

        fn decode(tag: &str, params: Value) -> Result<Arc<dyn Primitive>> {
            let bad = |e: serde_json::Error| {
                Error::value(format!("[import_function] Bad parameters for {tag}: {e}"))
            };
            match tag {
                $(stringify!($T) => Ok(Arc::new(serde_json::from_value::<$m::$T>(params).map_err(bad)?)),)*
                _ => Err(Error::value(format!("[import_function] Unknown primitive {tag}."))),
            }
        }
    };
}

registry!(
    binary::DivMod,
    binary::Equal,
    binary::Add,
    binary::Subtract,
    binary::Multiply,
    binary::Divide,
    binary::FloorDivide,
    binary::Remainder,
    binary::Power,
    binary::Maximum,
    binary::Minimum,
    binary::ArcTan2,
    binary::LogAddExp,
    binary::NotEqual,
    binary::Greater,
    binary::GreaterEqual,
    binary::Less,
    binary::LessEqual,
    binary::LogicalAnd,
    binary::LogicalOr,
    binary::BitwiseAnd,
    binary::BitwiseOr,
    binary::BitwiseXor,
    binary::LeftShift,
    binary::RightShift,
    conv::Convolution,
    creation::Arange,
    creation::Eye,
    creation::Tri,
    factor::Inverse,
    factor::Cholesky,
    factor::QRF,
    factor::SVD,
    factor::Eigh,
    factor::Eig,
    factor::LUF,
    fast::RmsNorm,
    fast::BatchNormTrain,
    fast::BatchNormTrainVjp,
    fast::LstmSequence,
    fast::LstmSequenceVjp,
    fast::CustomKernel,
    fft::Fft,
    fast::LayerNorm,
    fast::LayerNormVjp,
    fast::Rope,
    fast::ScaledDotProductAttention,
    gated_delta::GatedDelta,
    indexing::Gather,
    indexing::Scatter,
    indexing::GatherAxis,
    indexing::ScatterAxis,
    indexing::SliceUpdate,
    indexing::DynamicSlice,
    indexing::DynamicSliceUpdate,
    indexing::MaskedScatter,
    join::Concatenate,
    linalg::Matmul,
    linalg::AddMM,
    linalg::VecDot,
    linalg::GatherMM,
    linalg::SegmentedMM,
    linalg::Hadamard,
    quantized::Quantize,
    quantized::Dequantize,
    quantized::QuantizedMatmul,
    quantized::GatherQmm,
    quantized::ConvertFp8,
    quantized::QqMatmul,
    random::RandomBits,
    rearrange::Pad,
    rearrange::DiagMatrix,
    rearrange::Tril,
    rearrange::Triu,
    reduce::ArgMax,
    reduce::ArgMin,
    reduce::Softmax,
    reduce::LogSumExp,
    reduce::Median,
    reduce::NumberOfElements,
    reduce::IsClose,
    reduce::ArrayEqual,
    reduce::Sum,
    reduce::Prod,
    reduce::Max,
    reduce::Min,
    reduce::All,
    reduce::Any,
    scan::CumSum,
    scan::CumProd,
    scan::CumMax,
    scan::CumMin,
    scan::CumLogSumExp,
    shape::Broadcast,
    shape::BroadcastAxes,
    shape::Reshape,
    shape::Transpose,
    shape::AsStrided,
    shape::Contiguous,
    shape::AsType,
    shape::Slice,
    shape::Diagonal,
    shape::View,
    sort::Sort,
    sort::ArgSort,
    sort::Partition,
    sort::ArgPartition,
    sort::TopK,
    sort::SearchSorted,
    sort::Unique,
    ternary::Select,
    transform::Copy,
    unary::Log,
    unary::NanToNum,
    unary::Abs,
    unary::Sign,
    unary::Negative,
    unary::Square,
    unary::Exp,
    unary::Expm1,
    unary::Sqrt,
    unary::Rsqrt,
    unary::Log1p,
    unary::Sin,
    unary::Cos,
    unary::Tan,
    unary::ArcSin,
    unary::ArcCos,
    unary::ArcTan,
    unary::Sinh,
    unary::Cosh,
    unary::Tanh,
    unary::ArcSinh,
    unary::ArcCosh,
    unary::ArcTanh,
    unary::Sigmoid,
    unary::Erf,
    unary::ErfMlx,
    unary::ErfInv,
    unary::Floor,
    unary::Ceil,
    unary::Trunc,
    unary::Round,
    unary::IsNan,
    unary::IsInf,
    unary::IsPosInf,
    unary::IsNegInf,
    unary::IsFinite,
    unary::LogicalNot,
    unary::BitwiseInvert,
    unary::Real,
    unary::Imag,
    unary::Conjugate,
    unary::StopGradient,
);

/// How a function is exported: `shapeless` traces serve inputs of other shapes (of the same
/// ranks and dtypes: the imported function works out each node's shapes from its inputs, as a
/// shapeless `compile` does), and `metadata` is a string saved with the function (a model's
/// configuration, say) that [`ImportedFunction::metadata`] gives back.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExportOptions {
    /// Whether the imported function accepts new shapes of the traced ranks.
    pub shapeless: bool,
    /// A string saved with the function.
    pub metadata: String,
}

/// One traced signature: the program, its inputs' shapes and dtypes, and the names of the
/// keyword inputs (the last `keywords.len()` inputs, sorted by name).
#[derive(Clone)]
struct Trace {
    program: Program,
    inputs: Vec<OutputSpec>,
    keywords: Vec<String>,
}

impl Trace {
    /// Whether inputs of this kind are the same signature as the trace's (`shapeless`: the
    /// ranks stand for the shapes).
    fn same_signature(&self, inputs: &[OutputSpec], keywords: &[String], shapeless: bool) -> bool {
        self.keywords == keywords
            && self.inputs.len() == inputs.len()
            && self.inputs.iter().zip(inputs).all(|(a, b)| {
                a.dtype == b.dtype
                    && if shapeless {
                        a.shape.len() == b.shape.len()
                    } else {
                        a.shape == b.shape
                    }
            })
    }
}

/// A function loaded by [`import_function`]: call it with arrays of the shapes and dtypes it
/// was exported with (or, for a shapeless export, of the same ranks and dtypes).
pub struct ImportedFunction {
    traces: Vec<Trace>,
    shapeless: bool,
    metadata: String,
}

fn specs_of(inputs: &[Array]) -> Vec<OutputSpec> {
    inputs
        .iter()
        .map(|x| OutputSpec {
            shape: x.shape().to_vec(),
            dtype: x.dtype(),
        })
        .collect()
}

impl ImportedFunction {
    /// The function's outputs on `inputs` (lazy, as any op's), through the trace exported for
    /// their shapes and dtypes.
    pub fn call(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        self.call_with_keywords(inputs, &[])
    }

    /// [`ImportedFunction::call`] where the last `keywords.len()` inputs are keyword inputs of
    /// those names (sorted), as exported with [`export_function_with`].
    ///
    /// ```
    /// use rmlx_core as mx;
    /// let f = |x: &[mx::Array]| mx::subtract(&x[0], &x[1]);
    /// let kw = vec!["y".to_string()];
    /// let bytes = mx::export_function_bytes_with(f, &[mx::array![3.0], mx::array![1.0]], &kw,
    ///                                            &mx::ExportOptions::default())?;
    /// let g = mx::import_function_bytes(&bytes)?;
    /// assert_eq!(g.call_with_keywords(&[mx::array![3.0], mx::array![1.0]], &kw)?[0].item::<f32>()?, 2.0);
    /// assert!(g.call(&[mx::array![3.0], mx::array![1.0]]).is_err());   // y given by position
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn call_with_keywords(&self, inputs: &[Array], keywords: &[String]) -> Result<Vec<Array>> {
        let specs = specs_of(inputs);
        if let Some(t) = self
            .traces
            .iter()
            .find(|t| t.same_signature(&specs, keywords, false))
        {
            return t.program.replay(inputs);
        }
        if self.shapeless
            && let Some(t) = self
                .traces
                .iter()
                .find(|t| t.same_signature(&specs, keywords, true))
        {
            return t.program.replay_shapeless(inputs);
        }
        let sigs: Vec<String> = self
            .traces
            .iter()
            .map(|t| {
                let n_args = t.inputs.len() - t.keywords.len();
                let one: Vec<String> = t
                    .inputs
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let name = if i < n_args {
                            String::new()
                        } else {
                            format!("{}=", t.keywords[i - n_args])
                        };
                        format!("{name}{}{}", s.dtype, crate::error::fmt_shape(&s.shape))
                    })
                    .collect();
                format!("[{}]", one.join(", "))
            })
            .collect();
        Err(Error::value(format!(
            "[import_function] No traced function takes these inputs; the traces take {}.",
            sigs.join(" or ")
        )))
    }

    /// The shapes and dtypes of the inputs of each exported trace.
    pub fn input_specs(&self) -> Vec<&[OutputSpec]> {
        self.traces.iter().map(|t| t.inputs.as_slice()).collect()
    }

    /// The keyword names of each exported trace (empty for positional inputs only).
    pub fn keywords(&self) -> Vec<&[String]> {
        self.traces.iter().map(|t| t.keywords.as_slice()).collect()
    }

    /// The metadata string saved with the function (empty when none was given).
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// Whether the function was exported shapeless.
    pub fn is_shapeless(&self) -> bool {
        self.shapeless
    }
}

/// Traces `f` on arrays shaped like `example_inputs` and writes its graph to `path` (MLX's
/// `export_function`, in rmlx's own format). Arrays the function captures are saved with it.
/// Functions holding user closures (`custom_function`) cannot be exported.
///
/// ```
/// use rmlx_core as mx;
/// let path = std::env::temp_dir().join(format!("rmlx_doc_{}.rmlxfn", std::process::id()));
/// let w = mx::array![[1.0, 2.0], [3.0, 4.0]];
/// mx::export_function(&path, move |x: &[mx::Array]| mx::tanh(&mx::matmul(&x[0], &w)?),
///                     &[mx::zeros(&[1, 2], mx::float32)?])?;
/// let f = mx::import_function(&path)?;
/// let y = f.call(&[mx::array![[1.0, 0.0]]])?;
/// assert_eq!(y[0].shape(), &[1, 2]);
/// assert!((y[0].to_vec::<f32>()?[1] - 2f32.tanh()).abs() < 1e-6);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn export_function<F, O>(
    path: impl AsRef<std::path::Path>,
    f: F,
    example_inputs: &[Array],
) -> Result<()>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    export_function_with(path, f, example_inputs, &[], &ExportOptions::default())
}

/// [`export_function`] with keyword inputs (the last `keywords.len()` of `example_inputs`,
/// named by `keywords` in sorted order) and [`ExportOptions`]: a shapeless export, metadata.
///
/// ```
/// use rmlx_core as mx;
/// let path = std::env::temp_dir().join(format!("rmlx_doc_with_{}.rmlxfn", std::process::id()));
/// let options = mx::ExportOptions { shapeless: true, metadata: "{\"v\": 1}".into() };
/// mx::export_function_with(&path, |x: &[mx::Array]| mx::sum_axes(&x[0], [-1], false),
///                          &[mx::zeros(&[2, 3], mx::float32)?], &[], &options)?;
/// let f = mx::import_function(&path)?;
/// assert_eq!(f.metadata(), "{\"v\": 1}");
/// let y = f.call(&[mx::ones(&[4, 5], mx::float32)?])?;   // new shape, same rank
/// assert_eq!(y[0].to_vec::<f32>()?, vec![5.0; 4]);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub fn export_function_with<F, O>(
    path: impl AsRef<std::path::Path>,
    f: F,
    example_inputs: &[Array],
    keywords: &[String],
    options: &ExportOptions,
) -> Result<()>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    let bytes = export_function_bytes_with(f, example_inputs, keywords, options)?;
    write_file(path.as_ref(), &bytes)
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| {
        Error::runtime(format!(
            "[export_function] Cannot write {}: {e}",
            path.display()
        ))
    })
}

/// [`export_function`] into memory: the file's bytes.
///
/// ```
/// use rmlx_core as mx;
/// let bytes = mx::export_function_bytes(|x: &[mx::Array]| mx::exp(&x[0]), &[mx::array![0.0]])?;
/// let f = mx::import_function_bytes(&bytes)?;
/// assert_eq!(f.call(&[mx::array![0.0]])?[0].item::<f32>()?, 1.0);
/// # Ok::<(), mx::Error>(())
/// ```
pub fn export_function_bytes<F, O>(f: F, example_inputs: &[Array]) -> Result<Vec<u8>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    export_function_bytes_with(f, example_inputs, &[], &ExportOptions::default())
}

/// [`export_function_with`] into memory: the file's bytes.
pub fn export_function_bytes_with<F, O>(
    f: F,
    example_inputs: &[Array],
    keywords: &[String],
    options: &ExportOptions,
) -> Result<Vec<u8>>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    let trace = trace_program(&f, example_inputs, keywords, options.shapeless)?;
    serialize(&[trace], options)
}

fn trace_program<F, O>(
    f: &F,
    example_inputs: &[Array],
    keywords: &[String],
    shapeless: bool,
) -> Result<Trace>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    if keywords.len() > example_inputs.len() {
        return Err(Error::value(
            "[export_function] More keyword names than inputs.",
        ));
    }
    let mut sorted = keywords.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.as_slice() != keywords {
        return Err(Error::value(
            "[export_function] Keyword names must be distinct and sorted.",
        ));
    }
    let _tracing = TracingGuard::new();
    let _exporting = ExportTracingGuard::new();
    let _shapeless = super::ShapelessTracingGuard::new(shapeless);
    let placeholders: Vec<Array> = example_inputs
        .iter()
        .map(|x| placeholder(x.shape().to_vec(), x.dtype()))
        .collect();
    let outputs = f(&placeholders)?.into_outputs();
    let mut p = Program::from_trace_full(&placeholders, &outputs);
    p.simplify()?;
    Ok(Trace {
        program: p,
        inputs: specs_of(example_inputs),
        keywords: keywords.to_vec(),
    })
}

/// Exports one function traced for several input signatures into one file (MLX's
/// `mx.exporter`): each [`FunctionExporter::call`] adds a trace, [`FunctionExporter::close`]
/// writes the file. The imported function picks the trace matching its inputs.
///
/// ```
/// use rmlx_core as mx;
/// let path = std::env::temp_dir().join(format!("rmlx_doc_exporter_{}.rmlxfn", std::process::id()));
/// let mut ex = mx::exporter(&path, |x: &[mx::Array]| mx::sum(&x[0]));
/// ex.call(&[mx::zeros(&[2], mx::float32)?])?;
/// ex.call(&[mx::zeros(&[3, 3], mx::float32)?])?;
/// ex.close()?;
/// let f = mx::import_function(&path)?;
/// assert_eq!(f.call(&[mx::ones(&[3, 3], mx::float32)?])?[0].item::<f32>()?, 9.0);
/// assert_eq!(f.call(&[mx::ones(&[2], mx::float32)?])?[0].item::<f32>()?, 2.0);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), mx::Error>(())
/// ```
pub struct FunctionExporter<F> {
    path: std::path::PathBuf,
    f: F,
    traces: Vec<Trace>,
    options: ExportOptions,
}

/// A [`FunctionExporter`] writing `f`'s traces to `path`.
pub fn exporter<F, O>(path: impl AsRef<std::path::Path>, f: F) -> FunctionExporter<F>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    exporter_with(path, f, ExportOptions::default())
}

/// A [`FunctionExporter`] with [`ExportOptions`] (shapeless traces, metadata).
pub fn exporter_with<F, O>(
    path: impl AsRef<std::path::Path>,
    f: F,
    options: ExportOptions,
) -> FunctionExporter<F>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    FunctionExporter {
        path: path.as_ref().to_path_buf(),
        f,
        traces: Vec::new(),
        options,
    }
}

impl<F, O> FunctionExporter<F>
where
    F: Fn(&[Array]) -> Result<O>,
    O: FnOutputs,
{
    /// Traces the function on arrays shaped like `example_inputs` (a signature already traced
    /// replaces its earlier trace).
    pub fn call(&mut self, example_inputs: &[Array]) -> Result<()> {
        self.call_with_keywords(example_inputs, &[])
    }

    /// [`FunctionExporter::call`] where the last `keywords.len()` inputs are keyword inputs
    /// of those names (sorted).
    pub fn call_with_keywords(
        &mut self,
        example_inputs: &[Array],
        keywords: &[String],
    ) -> Result<()> {
        let trace = trace_program(&self.f, example_inputs, keywords, self.options.shapeless)?;
        let shapeless = self.options.shapeless;
        self.traces
            .retain(|t| !t.same_signature(&trace.inputs, &trace.keywords, shapeless));
        self.traces.push(trace);
        Ok(())
    }

    /// Writes every trace to the file.
    pub fn close(self) -> Result<()> {
        if self.traces.is_empty() {
            return Err(Error::value(
                "[exporter] No traces to export: call the exporter with example inputs first.",
            ));
        }
        let bytes = serialize(&self.traces, &self.options)?;
        write_file(&self.path, &bytes)
    }
}

/// [`import_function`] from the bytes of a file (corrupt bytes are an error).
pub fn import_function_bytes(bytes: &[u8]) -> Result<ImportedFunction> {
    deserialize(bytes)
}

/// Loads a function written by [`export_function`].
pub fn import_function(path: impl AsRef<std::path::Path>) -> Result<ImportedFunction> {
    let bytes = std::fs::read(path.as_ref()).map_err(|e| {
        Error::runtime(format!(
            "[import_function] Cannot read {}: {e}",
            path.as_ref().display()
        ))
    })?;
    import_function_bytes(&bytes)
}

fn spec_json(shape: &[usize], dtype: Dtype) -> Value {
    json!({"shape": shape, "dtype": dtype.name()})
}

fn serialize(traces: &[Trace], options: &ExportOptions) -> Result<Vec<u8>> {
    let mut blob: Vec<u8> = Vec::new();
    let mut constants: Vec<Value> = Vec::new();
    let mut const_index: HashMap<usize, usize> = HashMap::new();
    let mut constant = |a: &Array| -> Result<usize> {
        if let Some(&i) = const_index.get(&a.id()) {
            return Ok(i);
        }
        let bytes = crate::io::array_bytes(a)?;
        constants.push(json!({
            "shape": a.shape(), "dtype": a.dtype().name(),
            "offset": blob.len(), "nbytes": bytes.len(),
        }));
        blob.extend_from_slice(&bytes);
        const_index.insert(a.id(), constants.len() - 1);
        Ok(constants.len() - 1)
    };
    let mut refs = |r: &Ref| -> Result<Value> {
        Ok(match r {
            Ref::Input(i) => json!({"input": i}),
            Ref::Node(n, k) => json!({"node": [n, k]}),
            Ref::Const(a) => json!({"const": constant(a)?}),
            Ref::Broadcast(a, shape) => json!({"broadcast": constant(a)?, "shape": shape}),
        })
    };
    let mut functions = Vec::with_capacity(traces.len());
    for trace in traces {
        let (p, inputs) = (&trace.program, &trace.inputs);
        let mut nodes = Vec::with_capacity(p.nodes.len());
        for node in &p.nodes {
            let (tag, params) = encode(&*node.primitive)?;
            let ins = node
                .inputs
                .iter()
                .map(&mut refs)
                .collect::<Result<Vec<_>>>()?;
            let outs: Vec<Value> = node
                .outputs
                .iter()
                .map(|o| spec_json(&o.shape, o.dtype))
                .collect();
            nodes.push(json!({
                "primitive": tag, "name": node.primitive.name(), "params": params,
                "inputs": ins, "outputs": outs,
            }));
        }
        let outputs = p
            .outputs
            .iter()
            .map(&mut refs)
            .collect::<Result<Vec<_>>>()?;
        let mut function = json!({
            "inputs": inputs.iter().map(|x| spec_json(&x.shape, x.dtype)).collect::<Vec<_>>(),
            "nodes": nodes,
            "outputs": outputs,
        });
        if !trace.keywords.is_empty() {
            function["keywords"] = json!(trace.keywords);
        }
        functions.push(function);
    }
    let mut header = json!({"format": 1, "functions": functions, "constants": constants});
    if options.shapeless {
        header["shapeless"] = json!(true);
    }
    if !options.metadata.is_empty() {
        header["metadata"] = json!(options.metadata);
    }
    let header = serde_json::to_vec(&header)
        .map_err(|e| Error::runtime(format!("[export_function] {e}")))?;
    let mut out = Vec::with_capacity(16 + header.len() + blob.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&blob);
    Ok(out)
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::value(format!("[import_function] Invalid function file: {msg}."))
}

fn usize_of(v: &Value, what: &str) -> Result<usize> {
    v.as_u64()
        .and_then(|x| usize::try_from(x).ok())
        .ok_or_else(|| bad(format!("{what} is not a non-negative integer")))
}

fn spec_of(v: &Value) -> Result<OutputSpec> {
    let shape = v["shape"]
        .as_array()
        .ok_or_else(|| bad("a shape is missing"))?
        .iter()
        .map(|d| usize_of(d, "a dimension"))
        .collect::<Result<Vec<_>>>()?;
    let dtype = Dtype::from_name(
        v["dtype"]
            .as_str()
            .ok_or_else(|| bad("a dtype is missing"))?,
    )
    .map_err(|_| bad("unknown dtype"))?;
    crate::array::checked_nbytes(&shape, dtype).map_err(|_| bad("a shape is too large"))?;
    Ok(OutputSpec { shape, dtype })
}

fn deserialize(bytes: &[u8]) -> Result<ImportedFunction> {
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad("not an rmlx function file"));
    }
    let len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let header_end = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_add(16))
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| bad("the header is longer than the file"))?;
    let header: Value =
        serde_json::from_slice(&bytes[16..header_end]).map_err(|e| bad(format!("header: {e}")))?;
    let blob = &bytes[header_end..];
    if header["format"] != json!(1) {
        return Err(bad("unknown format version"));
    }
    let list = |key: &str| -> Result<&Vec<Value>> {
        header[key]
            .as_array()
            .ok_or_else(|| bad(format!("'{key}' is missing")))
    };
    let constants = list("constants")?
        .iter()
        .map(|c| {
            let spec = spec_of(c)?;
            let (offset, nbytes) = (
                usize_of(&c["offset"], "offset")?,
                usize_of(&c["nbytes"], "nbytes")?,
            );
            let data = offset
                .checked_add(nbytes)
                .and_then(|end| blob.get(offset..end))
                .ok_or_else(|| bad("a constant lies past the end of the file"))?;
            crate::io::npy::from_bytes(data, &spec.shape, spec.dtype)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut traces = Vec::new();
    for function in list("functions")? {
        let field = |key: &str| -> Result<&Vec<Value>> {
            function[key]
                .as_array()
                .ok_or_else(|| bad(format!("a function's '{key}' is missing")))
        };
        let inputs = field("inputs")?
            .iter()
            .map(spec_of)
            .collect::<Result<Vec<_>>>()?;
        let nodes_json = field("nodes")?;
        let n_inputs = inputs.len();
        let reference =
            |v: &Value, n_nodes: usize, outputs_of: &dyn Fn(usize) -> usize| -> Result<Ref> {
                let konst = |i: &Value| -> Result<Array> {
                    constants
                        .get(usize_of(i, "a constant index")?)
                        .cloned()
                        .ok_or_else(|| bad("a constant index is out of range"))
                };
                if let Some(i) = v.get("input") {
                    let i = usize_of(i, "an input index")?;
                    return (i < n_inputs)
                        .then_some(Ref::Input(i))
                        .ok_or_else(|| bad("an input index is out of range"));
                }
                if let Some(nk) = v.get("node").and_then(Value::as_array) {
                    let (n, k) = match nk.as_slice() {
                        [n, k] => (
                            usize_of(n, "a node index")?,
                            usize_of(k, "an output index")?,
                        ),
                        _ => return Err(bad("a node reference is malformed")),
                    };
                    // Only earlier nodes: the graph stays acyclic.
                    if n >= n_nodes || k >= outputs_of(n) {
                        return Err(bad("a node reference points forward or out of range"));
                    }
                    return Ok(Ref::Node(n, k));
                }
                if let Some(c) = v.get("const") {
                    return Ok(Ref::Const(konst(c)?));
                }
                if let Some(c) = v.get("broadcast") {
                    let src = konst(c)?;
                    let shape =
                        spec_of(&json!({"shape": v["shape"], "dtype": src.dtype().name()}))?.shape;
                    crate::ops::broadcast_shapes(&[src.shape(), &shape])
                        .ok()
                        .filter(|s| *s == shape)
                        .ok_or_else(|| bad("a broadcast constant does not fit its shape"))?;
                    return Ok(Ref::Broadcast(src, shape));
                }
                Err(bad("unknown reference"))
            };
        let mut nodes: Vec<ProgNode> = Vec::with_capacity(nodes_json.len());
        for v in nodes_json {
            let tag = v["primitive"]
                .as_str()
                .ok_or_else(|| bad("a node has no primitive"))?;
            let primitive = decode(tag, v["params"].clone())?;
            let outputs = v["outputs"]
                .as_array()
                .ok_or_else(|| bad("a node has no outputs"))?
                .iter()
                .map(spec_of)
                .collect::<Result<Vec<_>>>()?;
            let n_nodes = nodes.len();
            let counts = |n: usize| nodes[n].outputs.len();
            let ins = v["inputs"]
                .as_array()
                .ok_or_else(|| bad("a node has no inputs"))?
                .iter()
                .map(|r| reference(r, n_nodes, &counts))
                .collect::<Result<Vec<_>>>()?;
            nodes.push(ProgNode {
                primitive,
                inputs: ins,
                outputs,
            });
        }
        let n_nodes = nodes.len();
        let counts = |n: usize| nodes[n].outputs.len();
        let outputs = field("outputs")?
            .iter()
            .map(|r| reference(r, n_nodes, &counts))
            .collect::<Result<Vec<_>>>()?;
        let program = Program {
            n_inputs,
            nodes,
            outputs,
        };
        let keywords = match function.get("keywords") {
            None => Vec::new(),
            Some(k) => k
                .as_array()
                .ok_or_else(|| bad("a function's keywords are not a list"))?
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad("a keyword is not a string"))
                })
                .collect::<Result<Vec<_>>>()?,
        };
        if keywords.len() > n_inputs {
            return Err(bad("a function has more keywords than inputs"));
        }
        traces.push(Trace {
            program,
            inputs,
            keywords,
        });
    }
    if traces.is_empty() {
        return Err(bad("the file holds no function"));
    }
    let shapeless = match header.get("shapeless") {
        None => false,
        Some(v) => v
            .as_bool()
            .ok_or_else(|| bad("'shapeless' is not a boolean"))?,
    };
    let metadata = match header.get("metadata") {
        None => String::new(),
        Some(v) => v
            .as_str()
            .ok_or_else(|| bad("'metadata' is not a string"))?
            .to_string(),
    };
    Ok(ImportedFunction {
        traces,
        shapeless,
        metadata,
    })
}
