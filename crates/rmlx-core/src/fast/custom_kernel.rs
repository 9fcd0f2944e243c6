//! Custom Metal kernels (`mx.fast.metal_kernel`), as MLX's builds without Metal have them.
//!
//! rmlx runs on the CPU, so a custom kernel can never run here, exactly as in MLX's CPU build:
//! calling one is MLX's "No Metal back-end" error, except while a function is being exported,
//! where the call is recorded as a `CustomKernel` node holding the generated Metal source, so
//! the exported file can be imported by a process that has a GPU. The arguments are checked as
//! MLX checks them, and the generated source is MLX's (the kernel signature written from the
//! inputs' dtypes and ranks, the names the source uses, and the template arguments).

use crate::array::Array;
use crate::device::DeviceType;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitive::OutputSpec;
use crate::primitives::fast::CustomKernel;

/// Inputs with fewer elements than this go to Metal's constant address space (MLX's rule).
const MAX_CONSTANT_ARRAY_SIZE: usize = 8;

/// The thread and grid attributes Metal gives a kernel, with their types: each one the source
/// mentions becomes a parameter of the generated signature.
const METAL_ATTRIBUTES: [(&str, &str); 20] = [
    ("dispatch_quadgroups_per_threadgroup", "uint"),
    ("dispatch_simdgroups_per_threadgroup", "uint"),
    ("dispatch_threads_per_threadgroup", "uint3"),
    ("grid_origin", "uint3"),
    ("grid_size", "uint3"),
    ("quadgroup_index_in_threadgroup", "uint"),
    ("quadgroups_per_threadgroup", "uint"),
    ("simdgroup_index_in_threadgroup", "uint"),
    ("simdgroups_per_threadgroup", "uint"),
    ("thread_execution_width", "uint"),
    ("thread_index_in_quadgroup", "uint"),
    ("thread_index_in_simdgroup", "uint"),
    ("thread_index_in_threadgroup", "uint"),
    ("thread_position_in_grid", "uint3"),
    ("thread_position_in_threadgroup", "uint3"),
    ("threadgroup_position_in_grid", "uint3"),
    ("threadgroups_per_grid", "uint3"),
    ("threads_per_grid", "uint3"),
    ("threads_per_simdgroup", "uint"),
    ("threads_per_threadgroup", "uint3"),
];

/// A template argument of a custom kernel (`template=[("T", mx.float32), ("N", 4)]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TemplateArg {
    /// An `int` template parameter.
    Int(i32),
    /// A `bool` template parameter.
    Bool(bool),
    /// A `typename` template parameter.
    Dtype(Dtype),
}

/// How Metal compiles a kernel's math (`compile_options={"math_mode": ...}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MathMode {
    /// IEEE-conforming math (MLX's default).
    #[default]
    Safe,
    /// Relaxed floating point.
    Relaxed,
    /// Fast math.
    Fast,
}

impl std::str::FromStr for MathMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<MathMode> {
        match s {
            "safe" => Ok(MathMode::Safe),
            "relaxed" => Ok(MathMode::Relaxed),
            "fast" => Ok(MathMode::Fast),
            _ => Err(Error::value(
                "[metal_kernel] Expected math_mode to be 'safe', 'relaxed', or 'fast'.",
            )),
        }
    }
}

/// A custom Metal kernel made by [`metal_kernel`]; [`MetalKernel::call`] applies it.
#[derive(Clone, Debug)]
pub struct MetalKernel {
    name: String,
    input_names: Vec<String>,
    output_names: Vec<String>,
    source: String,
    header: String,
    ensure_row_contiguous: bool,
    atomic_outputs: bool,
    math_mode: MathMode,
}

/// How a [`MetalKernel`] is launched: the grid and threadgroup sizes and the call's options.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KernelLaunch {
    /// Threads in the grid, `(x, y, z)`.
    pub grid: (i32, i32, i32),
    /// Threads in a threadgroup, `(x, y, z)`.
    pub threadgroup: (i32, i32, i32),
    /// Template arguments, by name.
    pub template: Vec<(String, TemplateArg)>,
    /// A value every output is filled with before the kernel runs.
    pub init_value: Option<f32>,
    /// Print the generated source.
    pub verbose: bool,
    /// The device asked for (`None`: the default, the GPU); only the GPU is accepted.
    pub device: Option<DeviceType>,
}

/// A custom Metal kernel from the body of its function (MLX's `mx.fast.metal_kernel`): the
/// signature is generated from the inputs and outputs of each call. rmlx has no Metal back-end,
/// so calling the kernel is an error, except while exporting a function (see the module doc).
///
/// ```
/// use rmlx_core::{self as mx, fast::KernelLaunch};
/// let k = mx::fast::metal_kernel("copy", &["a"], &["out"], "out[0] = a[0];")?;
/// let launch = KernelLaunch { grid: (1, 1, 1), threadgroup: (1, 1, 1), ..Default::default() };
/// let out = k.call(&[mx::array![1.0f32]], &[vec![1]], &[mx::Dtype::Float32], &launch);
/// let err = out.unwrap_err();
/// assert_eq!(err.to_string(), "[metal_kernel] No Metal back-end.");
/// # Ok::<(), mx::Error>(())
/// ```
pub fn metal_kernel(
    name: &str,
    input_names: &[&str],
    output_names: &[&str],
    source: &str,
) -> Result<MetalKernel> {
    if output_names.is_empty() {
        return Err(Error::value(
            "[metal_kernel] Must specify at least one output.",
        ));
    }
    Ok(MetalKernel {
        name: name.to_string(),
        input_names: input_names.iter().map(|s| s.to_string()).collect(),
        output_names: output_names.iter().map(|s| s.to_string()).collect(),
        source: source.to_string(),
        header: String::new(),
        ensure_row_contiguous: true,
        atomic_outputs: false,
        math_mode: MathMode::Safe,
    })
}

impl MetalKernel {
    /// Source placed before the kernel function (helpers, includes).
    pub fn with_header(mut self, header: &str) -> MetalKernel {
        self.header = header.to_string();
        self
    }

    /// Whether inputs are made row-contiguous before the kernel runs (default `true`).
    pub fn with_ensure_row_contiguous(mut self, yes: bool) -> MetalKernel {
        self.ensure_row_contiguous = yes;
        self
    }

    /// Whether outputs are `atomic<T>` in the signature (default `false`).
    pub fn with_atomic_outputs(mut self, yes: bool) -> MetalKernel {
        self.atomic_outputs = yes;
        self
    }

    /// The Metal math mode (default [`MathMode::Safe`]).
    pub fn with_math_mode(mut self, mode: MathMode) -> MetalKernel {
        self.math_mode = mode;
        self
    }

    /// Applies the kernel to `inputs`, giving outputs of `output_shapes` and `output_dtypes`.
    /// Without a Metal back-end this is MLX's error, except while exporting a function, where
    /// the call is recorded (and evaluating it is an error).
    pub fn call(
        &self,
        inputs: &[Array],
        output_shapes: &[Vec<usize>],
        output_dtypes: &[Dtype],
        launch: &KernelLaunch,
    ) -> Result<Vec<Array>> {
        let check_size = |actual: usize, expected: usize, what: &str| {
            if actual == expected {
                Ok(())
            } else {
                Err(Error::value(format!(
                    "[metal_kernel] Expected `{what}` to have size {expected} but got size \
                     {actual}.\n"
                )))
            }
        };
        check_size(inputs.len(), self.input_names.len(), "inputs")?;
        check_size(
            output_shapes.len(),
            self.output_names.len(),
            "output_shapes",
        )?;
        check_size(
            output_dtypes.len(),
            self.output_names.len(),
            "output_dtypes",
        )?;
        if !crate::transforms::in_export_tracing() {
            return Err(Error::runtime("[metal_kernel] No Metal back-end."));
        }
        if launch.device == Some(DeviceType::Cpu) {
            return Err(Error::value("[metal_kernel] Only supports the GPU."));
        }
        let (kernel_name, source) = self.generated_source(inputs, output_dtypes, &launch.template);
        if launch.verbose {
            println!(
                "Generated source code for `{}`:\n```\n{source}\n```",
                self.name
            );
        }
        let primitive = CustomKernel {
            name: kernel_name,
            source,
            grid: launch.grid,
            threadgroup: launch.threadgroup,
            shape_infos: self.shape_infos(),
            ensure_row_contiguous: self.ensure_row_contiguous,
            init_value: launch.init_value,
            math_mode: self.math_mode as i32,
        };
        let specs = output_shapes
            .iter()
            .zip(output_dtypes)
            .map(|(shape, &dtype)| OutputSpec {
                shape: shape.clone(),
                dtype,
            })
            .collect();
        Ok(Array::multi_from_op(specs, primitive, inputs.to_vec()))
    }

    /// The kernel's name and its full Metal source, as MLX generates them.
    fn generated_source(
        &self,
        inputs: &[Array],
        output_dtypes: &[Dtype],
        template: &[(String, TemplateArg)],
    ) -> (String, String) {
        let kernel_name = self.kernel_name(inputs, output_dtypes, template);
        let mut source = self.signature(&kernel_name, inputs, output_dtypes, template);
        if !template.is_empty() {
            // An explicit instantiation under the kernel's name.
            let def = format!("{kernel_name}{}", template_text(template));
            source += &format!(
                "\ntemplate [[host_name(\"{kernel_name}\")]] [[kernel]] decltype({def}) {def};\n"
            );
        }
        (kernel_name, source)
    }

    /// Whether the source uses each input's `_shape`, `_strides` and `_ndim`.
    fn shape_infos(&self) -> Vec<(bool, bool, bool)> {
        self.input_names
            .iter()
            .map(|n| {
                let uses = |suffix: &str| self.source.contains(&format!("{n}{suffix}"));
                (uses("_shape"), uses("_strides"), uses("_ndim"))
            })
            .collect()
    }

    /// MLX's kernel name: it names the template arguments and how each input and output is
    /// passed, so one name always maps to one generated source.
    fn kernel_name(
        &self,
        inputs: &[Array],
        output_dtypes: &[Dtype],
        template: &[(String, TemplateArg)],
    ) -> String {
        let mut name = format!("custom_kernel_{}", self.name);
        if !template.is_empty() {
            name.push('_');
            name += &template_hash(&template_text(template));
        }
        for a in inputs {
            name += &format!("_{}", metal_type(a.dtype()));
            if a.ndim() == 0 {
                name.push('s');
            } else if a.size() < MAX_CONSTANT_ARRAY_SIZE {
                name.push('c');
            }
        }
        for dtype in output_dtypes {
            name += &format!("_{}", metal_type(*dtype));
        }
        name
    }

    /// The generated kernel: header, template line, signature (inputs with the shape data the
    /// source uses, outputs, the attributes the source mentions) and the body.
    fn signature(
        &self,
        kernel_name: &str,
        inputs: &[Array],
        output_dtypes: &[Dtype],
        template: &[(String, TemplateArg)],
    ) -> String {
        let mut params: Vec<String> = Vec::new();
        let mut index = 0;
        let buffer = |index: &mut usize| {
            *index += 1;
            *index - 1
        };
        for ((name, a), (shape, strides, ndim)) in
            self.input_names.iter().zip(inputs).zip(self.shape_infos())
        {
            let location = if a.size() < MAX_CONSTANT_ARRAY_SIZE {
                "constant"
            } else {
                "device"
            };
            let reference = if a.ndim() == 0 { "&" } else { "*" };
            params.push(format!(
                "  const {location} {}{reference} {name} [[buffer({})]]",
                metal_type(a.dtype()),
                buffer(&mut index)
            ));
            if a.ndim() > 0 {
                for (used, decl) in [
                    (shape, format!("const constant int* {name}_shape")),
                    (strides, format!("const constant int64_t* {name}_strides")),
                    (ndim, format!("const constant int& {name}_ndim")),
                ] {
                    if used {
                        params.push(format!("  {decl} [[buffer({})]]", buffer(&mut index)));
                    }
                }
            }
        }
        for (name, dtype) in self.output_names.iter().zip(output_dtypes) {
            let ty = if self.atomic_outputs {
                format!("atomic<{}>", metal_type(*dtype))
            } else {
                metal_type(*dtype).to_string()
            };
            params.push(format!(
                "  device {ty}* {name} [[buffer({})]]",
                buffer(&mut index)
            ));
        }
        for (attr, ty) in METAL_ATTRIBUTES {
            if self.source.contains(attr) {
                params.push(format!("  {ty} {attr} [[{attr}]]"));
            }
        }
        let mut out = self.header.clone();
        if !template.is_empty() {
            let decls: Vec<String> = template
                .iter()
                .map(|(name, arg)| {
                    let kind = match arg {
                        TemplateArg::Int(_) => "int",
                        TemplateArg::Bool(_) => "bool",
                        TemplateArg::Dtype(_) => "typename",
                    };
                    format!("{kind} {name}")
                })
                .collect();
            out += &format!("template <{}>\n", decls.join(", "));
        }
        out += &format!(
            "[[kernel]] void {kernel_name}(\n{}) {{\n{}\n}}\n",
            params.join(",\n"),
            self.source
        );
        out
    }
}

/// The Metal name of a dtype (MLX's `get_type_string`).
fn metal_type(dtype: Dtype) -> &'static str {
    match dtype {
        Dtype::Bool => "bool",
        Dtype::Uint8 => "uint8_t",
        Dtype::Uint16 => "uint16_t",
        Dtype::Uint32 => "uint32_t",
        Dtype::Uint64 => "uint64_t",
        Dtype::Int8 => "int8_t",
        Dtype::Int16 => "int16_t",
        Dtype::Int32 => "int32_t",
        Dtype::Int64 => "int64_t",
        Dtype::Float16 => "float16_t",
        Dtype::Bfloat16 => "bfloat16_t",
        Dtype::Float32 => "float",
        Dtype::Float64 => "double",
        Dtype::Complex64 => "complex64_t",
    }
}

/// `<v1, v2, ...>`: the template arguments' values (bools as 0 or 1, as C++ streams them).
fn template_text(template: &[(String, TemplateArg)]) -> String {
    let values: Vec<String> = template
        .iter()
        .map(|(_, arg)| match arg {
            TemplateArg::Int(i) => i.to_string(),
            TemplateArg::Bool(b) => u8::from(*b).to_string(),
            TemplateArg::Dtype(d) => metal_type(*d).to_string(),
        })
        .collect();
    format!("<{}>", values.join(", "))
}

/// The template text made fit for a kernel name: `<` `>` and `, ` become `_`, and the last
/// character is dropped (MLX's `make_template_hash`).
fn template_hash(text: &str) -> String {
    let mut out = text.replace(['<', '>'], "_").replace(", ", "_");
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_checked_before_the_back_end() {
        assert!(metal_kernel("k", &["a"], &[], "").is_err());
        let k = metal_kernel("k", &["a"], &["out"], "out[0] = a[0];").unwrap();
        let launch = KernelLaunch::default();
        let err = k
            .call(&[], &[vec![1]], &[Dtype::Float32], &launch)
            .unwrap_err();
        assert!(err.to_string().contains("Expected `inputs` to have size 1"));
        assert_eq!(err.kind(), crate::ErrorKind::Value);
    }

    /// The source MLX 0.32.4 prints (`verbose=True` while exporting) for this kernel.
    #[test]
    fn generated_source_follows_mlx() {
        let k = metal_kernel(
            "exp",
            &["a", "b"],
            &["out"],
            "uint elem = thread_position_in_grid.x; out[elem] = a[elem] * a_shape[0] + b;",
        )
        .unwrap()
        .with_header("// hdr\n");
        let inputs = [Array::from_vec(vec![0.0f32; 16]), Array::scalar(2.0f32)];
        let outs = [Dtype::Float32];
        let template = vec![
            ("T".to_string(), TemplateArg::Dtype(Dtype::Float32)),
            ("N".to_string(), TemplateArg::Int(4)),
            ("B".to_string(), TemplateArg::Bool(true)),
        ];
        let (name, src) = k.generated_source(&inputs, &outs, &template);
        assert_eq!(name, "custom_kernel_exp__float_4_1_float_floats_float");
        let expected = "// hdr
template <typename T, int N, bool B>
[[kernel]] void custom_kernel_exp__float_4_1_float_floats_float(
  const device float* a [[buffer(0)]],
  const constant int* a_shape [[buffer(1)]],
  const constant float& b [[buffer(2)]],
  device float* out [[buffer(3)]],
  uint3 thread_position_in_grid [[thread_position_in_grid]]) {
uint elem = thread_position_in_grid.x; out[elem] = a[elem] * a_shape[0] + b;
}

template [[host_name(\"custom_kernel_exp__float_4_1_float_floats_float\")]] [[kernel]] \
decltype(custom_kernel_exp__float_4_1_float_floats_float<float, 4, 1>) \
custom_kernel_exp__float_4_1_float_floats_float<float, 4, 1>;
";
        assert_eq!(src, expected);
    }

    #[test]
    fn exporting_records_the_call_and_importing_cannot_run_it() {
        let k = metal_kernel("copy", &["a"], &["out"], "out[0] = a[0];").unwrap();
        let launch = KernelLaunch {
            grid: (4, 1, 1),
            threadgroup: (4, 1, 1),
            ..Default::default()
        };
        let call = |x: &[Array]| k.call(x, &[vec![2, 2]], &[Dtype::Float32], &launch);
        let a = crate::ops::zeros(&[2, 2], Dtype::Float32).unwrap();
        // Outside an export the kernel cannot be called at all.
        let err = call(std::slice::from_ref(&a)).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Runtime);
        let bytes =
            crate::transforms::export_function_bytes(call, std::slice::from_ref(&a)).unwrap();
        let imported = crate::transforms::import_function_bytes(&bytes).unwrap();
        let out = imported.call(std::slice::from_ref(&a)).unwrap();
        assert_eq!(out[0].shape(), &[2, 2]);
        assert_eq!(
            out[0].eval().unwrap_err().to_string(),
            "Custom kernels only run on GPU."
        );
        // The CPU is refused while exporting.
        let on_cpu = KernelLaunch {
            device: Some(DeviceType::Cpu),
            ..launch.clone()
        };
        let err = crate::transforms::export_function_bytes(
            |x: &[Array]| k.call(x, &[vec![2, 2]], &[Dtype::Float32], &on_cpu),
            std::slice::from_ref(&a),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "[metal_kernel] Only supports the GPU.");
    }
}
