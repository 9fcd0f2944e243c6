//! `Array`: a cheap-to-clone handle on a lazy node or on computed data.

use crate::allocator::{self, Buffer};
use crate::dtype::Dtype;
use crate::element::Element;
use crate::error::{Error, Result, fmt_shape};
use crate::primitive::{OutputSpec, Primitive};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

/// An n-dimensional array of one [`Dtype`]: a node of the lazy graph until evaluated, then a
/// view (offset and strides) of a shared buffer.
///
/// Cloning is cheap (an `Arc`). Ops build a graph; nothing is computed until [`Array::eval`],
/// [`crate::eval`], [`Array::item`], [`Array::to_vec`] or printing.
///
/// ```
/// use rmlx_core as mx;
/// let a = mx::array![[1.0, 2.0], [3.0, 4.0]];
/// let b = (&a * 2.0 + 1.0).sum()?;      // nothing computed yet
/// assert_eq!(b.item::<f32>()?, 24.0); // evaluates
/// # Ok::<(), mx::Error>(())
/// ```
#[derive(Clone)]
pub struct Array {
    pub(crate) inner: Arc<ArrayInner>,
}

pub(crate) struct ArrayInner {
    pub(crate) shape: Vec<usize>,
    pub(crate) dtype: Dtype,
    pub(crate) state: Mutex<State>,
    /// The node that computed this array, kept after evaluation while a transform traces
    /// (`grad` of a function that calls `eval` inside still sees the whole graph, as in MLX).
    /// (A mutex, not a `OnceLock`, so `Array` stays `RefUnwindSafe`.)
    pub(crate) retained: Mutex<Option<Arc<Node>>>,
    /// Built, while a transform traced, from the transform's inputs: only such arrays keep
    /// their node through `eval` (others, a model's parameters say, must not pin old graphs).
    pub(crate) tracer: bool,
}

pub(crate) enum State {
    /// Not computed yet.
    Pending(Arc<Node>),
    /// Computed.
    Ready(Data),
    /// Computing it failed; every dependent fails with the same error.
    Failed(Error),
    /// Its buffer was handed to the one consumer that held it; nothing can observe it anymore.
    Donated,
}

/// A node of the graph: a primitive applied to inputs, producing one or more outputs.
pub(crate) struct Node {
    pub(crate) primitive: Arc<dyn Primitive>,
    pub(crate) inputs: Vec<Array>,
    pub(crate) outputs: Vec<OutputSpec>,
    /// The output arrays when there are several (siblings), weakly so that they may be dropped.
    /// A dropped output's slot is filled again when a transform's walk stands a new array in
    /// for it (so that evaluating the node also fills that array).
    pub(crate) siblings: OnceLock<Vec<Mutex<Weak<ArrayInner>>>>,
}

impl Drop for Node {
    /// Drops a graph iteratively: a chain of a million pending ops must not overflow the stack.
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.inputs);
        while let Some(arr) = stack.pop() {
            if Arc::strong_count(&arr.inner) == 1 {
                let mut state = arr.inner.lock_state();
                if let State::Pending(node) = &mut *state
                    && let Some(node) = Arc::get_mut(node)
                {
                    stack.append(&mut node.inputs);
                }
            }
            // `arr` drops here; its node (if any) has no inputs left, so this does not recurse.
        }
    }
}

/// Computed data: a (possibly shared) buffer with an element offset and element strides.
#[derive(Clone)]
pub struct Data {
    pub(crate) buffer: Arc<Buffer>,
    /// Offset of element (0, ..., 0) in elements.
    pub(crate) offset: usize,
    /// Strides in elements; may be 0 (broadcast) or negative (reversed slices).
    pub(crate) strides: Vec<isize>,
    /// Row-major dense from `offset`: the kernels' fast path.
    pub(crate) row_contiguous: bool,
}

/// Row-major strides of a shape, in elements.
pub fn row_major_strides(shape: &[usize]) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i].max(1) as isize;
    }
    strides
}

/// Whether `strides` are row-major dense for `shape` (dimensions of size 1 may have any stride).
pub(crate) fn is_row_contiguous(shape: &[usize], strides: &[isize]) -> bool {
    let mut expected = 1isize;
    for i in (0..shape.len()).rev() {
        if shape[i] == 0 {
            return true;
        }
        if shape[i] != 1 {
            if strides[i] != expected {
                return false;
            }
            expected *= shape[i] as isize;
        }
    }
    true
}

impl Data {
    /// A view of `buffer` with the given layout.
    pub(crate) fn view(
        buffer: Arc<Buffer>,
        shape: &[usize],
        offset: usize,
        strides: Vec<isize>,
    ) -> Data {
        let row_contiguous = is_row_contiguous(shape, &strides);
        Data {
            buffer,
            offset,
            strides,
            row_contiguous,
        }
    }

    /// A row-major buffer for `spec`, uninitialised: the caller writes every element.
    pub(crate) fn alloc(spec: &OutputSpec) -> Result<(Buffer, Vec<isize>)> {
        let bytes = checked_nbytes(&spec.shape, spec.dtype)?;
        Ok((
            allocator::alloc_uninit(bytes)?,
            row_major_strides(&spec.shape),
        ))
    }

    /// Wraps a freshly written row-major buffer.
    pub(crate) fn from_buffer(buffer: Buffer, shape: &[usize]) -> Data {
        Data {
            buffer: Arc::new(buffer),
            offset: 0,
            strides: row_major_strides(shape),
            row_contiguous: true,
        }
    }

    /// Copies a slice into a new row-major buffer.
    pub(crate) fn from_slice<T: Element>(values: &[T], shape: &[usize]) -> Result<Data> {
        let bytes = std::mem::size_of_val(values);
        let mut buf = allocator::alloc_uninit(bytes)?;
        // SAFETY: buf holds `bytes` bytes, T is plain data, the regions do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(values.as_ptr() as *const u8, buf.as_mut_ptr(), bytes);
        }
        Ok(Data::from_buffer(buf, shape))
    }

    /// The whole buffer as elements of T.
    ///
    /// The caller must make sure `T` is the element type of this data's dtype.
    pub(crate) fn elements<T: Element>(&self) -> &[T] {
        let n = self.buffer.len() / std::mem::size_of::<T>().max(1);
        if n == 0 {
            // An empty buffer's pointer is dangling with alignment 1: not valid for T.
            return &[];
        }
        // SAFETY: the buffer is 64-byte aligned, holds n whole elements of the dtype T stands
        // for, and was fully written by the kernel that produced it.
        unsafe { std::slice::from_raw_parts(self.buffer.as_ptr() as *const T, n) }
    }

    /// Element strides.
    pub fn strides(&self) -> &[isize] {
        &self.strides
    }
    /// Element offset into the buffer.
    pub fn offset(&self) -> usize {
        self.offset
    }
    /// Whether the data is row-major dense.
    pub fn is_row_contiguous(&self) -> bool {
        self.row_contiguous
    }

    /// The start of the underlying buffer (element `offset` lies `offset * itemsize` bytes
    /// further): for sharing the memory with other libraries (Python's buffer protocol,
    /// DLPack). It stays valid while this `Data`, or a clone of it, lives.
    ///
    /// ```
    /// use rmlx_core as mx;
    /// let a = mx::Array::from_slice(&[1.0f32, 2.0, 3.0], &[3])?;
    /// let data = a.data()?;
    /// // SAFETY: three f32 values live at the pointer while `data` is alive.
    /// let v = unsafe { std::slice::from_raw_parts(data.as_ptr() as *const f32, 3) };
    /// assert_eq!(v, &[1.0, 2.0, 3.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn as_ptr(&self) -> *const u8 {
        self.buffer.as_ptr()
    }
}

/// The elements of a buffer of `T`, mutably: for kernels filling an output.
pub(crate) fn buffer_elements_mut<T: Element>(buf: &mut Buffer) -> &mut [T] {
    let n = buf.len() / std::mem::size_of::<T>().max(1);
    if n == 0 {
        // An empty buffer's pointer is dangling with alignment 1: not valid for T.
        return &mut [];
    }
    // SAFETY: aligned, owned and exclusively borrowed; T is plain data (bool outputs are only
    // ever written with valid bools before being read).
    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut T, n) }
}

/// Bytes for `shape` of `dtype`, or an error if that overflows.
pub(crate) fn checked_nbytes(shape: &[usize], dtype: Dtype) -> Result<usize> {
    shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| {
            Error::value(format!(
                "Shape {} of {} is too large to allocate.",
                fmt_shape(shape),
                dtype
            ))
        })
}

impl ArrayInner {
    pub(crate) fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Array {
    /// A new pending array computed by `primitive` from `inputs`.
    pub(crate) fn from_op(
        shape: Vec<usize>,
        dtype: Dtype,
        primitive: impl Primitive,
        inputs: Vec<Array>,
    ) -> Array {
        let tracer = crate::transforms::any_tracer(&inputs);
        let node = Node {
            primitive: Arc::new(primitive),
            inputs,
            outputs: vec![OutputSpec {
                shape: shape.clone(),
                dtype,
            }],
            siblings: OnceLock::new(),
        };
        Array::with_state_traced(shape, dtype, State::Pending(Arc::new(node)), tracer)
    }

    /// Several pending arrays computed together by one `primitive` (siblings).
    pub(crate) fn multi_from_op(
        outputs: Vec<OutputSpec>,
        primitive: impl Primitive,
        inputs: Vec<Array>,
    ) -> Vec<Array> {
        Array::from_shared_op(outputs, Arc::new(primitive), inputs)
    }

    pub(crate) fn with_state(shape: Vec<usize>, dtype: Dtype, state: State) -> Array {
        Array::with_state_traced(shape, dtype, state, false)
    }

    /// [`Array::with_state`], marking the array a tracer (see [`ArrayInner::tracer`]).
    pub(crate) fn with_state_traced(
        shape: Vec<usize>,
        dtype: Dtype,
        state: State,
        tracer: bool,
    ) -> Array {
        Array {
            inner: Arc::new(ArrayInner {
                shape,
                dtype,
                state: Mutex::new(state),
                retained: Mutex::new(None),
                tracer,
            }),
        }
    }

    /// Pending arrays computed by a shared primitive (a transform replaying a traced node).
    pub(crate) fn from_shared_op(
        outputs: Vec<OutputSpec>,
        primitive: Arc<dyn Primitive>,
        inputs: Vec<Array>,
    ) -> Vec<Array> {
        let tracer = crate::transforms::any_tracer(&inputs);
        let multi = outputs.len() > 1;
        let node = Arc::new(Node {
            primitive,
            inputs,
            outputs: outputs.clone(),
            siblings: OnceLock::new(),
        });
        let arrays: Vec<Array> = outputs
            .into_iter()
            .map(|o| {
                Array::with_state_traced(o.shape, o.dtype, State::Pending(node.clone()), tracer)
            })
            .collect();
        if multi {
            let _ = node.siblings.set(
                arrays
                    .iter()
                    .map(|a| Mutex::new(Arc::downgrade(&a.inner)))
                    .collect(),
            );
        }
        arrays
    }

    /// The node behind this array: pending, or kept by a transform's trace after evaluation.
    pub(crate) fn graph_node(&self) -> Option<Arc<Node>> {
        match &*self.inner.lock_state() {
            State::Pending(n) => Some(n.clone()),
            _ => self
                .inner
                .retained
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Every output of `node`, in order, given `self`, one of them. Outputs that were dropped
    /// come back as new handles on the node (reading one alone is an error, not a wrong value).
    pub(crate) fn node_outputs(&self, node: &Arc<Node>) -> Vec<Array> {
        match node.siblings.get() {
            None => vec![self.clone()],
            Some(sibs) => sibs
                .iter()
                .zip(&node.outputs)
                .map(|(w, spec)| {
                    let mut slot = w.lock().unwrap_or_else(|e| e.into_inner());
                    match slot.upgrade() {
                        Some(inner) => Array { inner },
                        None => {
                            let a = Array::with_state(
                                spec.shape.clone(),
                                spec.dtype,
                                State::Pending(node.clone()),
                            );
                            *slot = Arc::downgrade(&a.inner);
                            a
                        }
                    }
                })
                .collect(),
        }
    }

    /// An evaluated array holding `data`.
    pub(crate) fn from_data(shape: Vec<usize>, dtype: Dtype, data: Data) -> Array {
        Array::with_state(shape, dtype, State::Ready(data))
    }

    /// An array copied from a slice, with a shape.
    ///
    /// ```
    /// use rmlx_core as mx;
    /// let a = mx::Array::from_slice(&[1i64, 2, 3, 4, 5, 6], &[2, 3])?;
    /// assert_eq!(a.dtype(), mx::int64);
    /// assert_eq!(a.shape(), &[2, 3]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn from_slice<T: Element>(values: &[T], shape: &[usize]) -> Result<Array> {
        let n: usize = shape.iter().product();
        if n != values.len() {
            return Err(Error::value(format!(
                "[array] Cannot make an array of shape {} from {} values.",
                fmt_shape(shape),
                values.len()
            )));
        }
        Ok(Array::from_data(
            shape.to_vec(),
            T::DTYPE,
            Data::from_slice(values, shape)?,
        ))
    }

    /// A 1-D array copied from a slice.
    pub fn from_vec<T: Element>(values: Vec<T>) -> Array {
        let n = values.len();
        Array::from_slice(&values, &[n]).expect("a 1-D slice always fits its own length")
    }

    /// A 0-D array holding one value.
    ///
    /// ```
    /// use rmlx_core as mx;
    /// let x = mx::Array::scalar(2.5f32);
    /// assert_eq!(x.ndim(), 0);
    /// assert_eq!(x.item::<f32>()?, 2.5);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn scalar<T: Element>(value: T) -> Array {
        Array::from_slice(&[value], &[]).expect("one value always fits a scalar")
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.inner.shape
    }
    /// The size of dimension `axis` (negative counts from the end).
    pub fn dim(&self, axis: isize) -> Result<usize> {
        let ax = crate::ops::normalize_axis(axis, self.ndim(), "dim")?;
        Ok(self.inner.shape[ax])
    }
    /// The dtype.
    pub fn dtype(&self) -> Dtype {
        self.inner.dtype
    }
    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.inner.shape.len()
    }
    /// Number of elements.
    pub fn size(&self) -> usize {
        self.inner.shape.iter().product()
    }
    /// Bytes of the elements (`size * itemsize`).
    pub fn nbytes(&self) -> usize {
        self.size() * self.itemsize()
    }
    /// Bytes per element.
    pub fn itemsize(&self) -> usize {
        self.inner.dtype.size()
    }
    /// Whether the array has been computed.
    pub fn is_evaluated(&self) -> bool {
        matches!(*self.inner.lock_state(), State::Ready(_))
    }
    /// The same underlying node (identity, not value, equality).
    pub fn is_same(&self, other: &Array) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
    /// A stable id for this array while it lives.
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }

    /// Evaluates the array (and what it depends on).
    pub fn eval(&self) -> Result<()> {
        crate::eval::eval([self])
    }

    /// The computed data, evaluating first if needed.
    pub fn data(&self) -> Result<Data> {
        self.eval()?;
        self.ready_data()
    }

    /// The data of an array known to be evaluated (kernels use this on their inputs).
    pub(crate) fn ready_data(&self) -> Result<Data> {
        match &*self.inner.lock_state() {
            State::Ready(d) => Ok(d.clone()),
            State::Failed(e) => Err(e.clone()),
            State::Pending(_) => Err(Error::runtime("[eval] array used before it was evaluated")),
            State::Donated => Err(Error::runtime(
                "[eval] array read after its buffer was donated",
            )),
        }
    }

    /// The elements in row-major order, converted to `T` as `astype` would.
    ///
    /// ```
    /// use rmlx_core as mx;
    /// let a = mx::arange(0.0, 4.0, 1.0)?.reshape(&[2, 2])?.transpose()?;
    /// assert_eq!(a.to_vec::<f32>()?, vec![0.0, 2.0, 1.0, 3.0]);
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        let data = self.data()?;
        let shape = self.shape();
        crate::dispatch_dtype!(self.dtype(), S => {
            let src = data.elements::<S>();
            let mut out = Vec::with_capacity(self.size());
            crate::layout::for_each_offset(shape, &data.strides, data.offset, |o| {
                out.push(src[o].cast::<T>())
            });
            Ok(out)
        })
    }

    /// The single element of a one-element array, converted to `T`.
    ///
    /// ```
    /// use rmlx_core as mx;
    /// assert_eq!(mx::array![7].item::<i64>()?, 7);
    /// assert!(mx::zeros(&[2], mx::float32)?.item::<f32>().is_err());
    /// # Ok::<(), mx::Error>(())
    /// ```
    pub fn item<T: Element>(&self) -> Result<T> {
        if self.size() != 1 {
            return Err(Error::value(format!(
                "[item] Only one element arrays can be converted to scalars, got shape {}.",
                fmt_shape(self.shape())
            )));
        }
        Ok(self.to_vec::<T>()?[0])
    }

    /// The inputs of the pending node behind this array (empty once evaluated).
    pub fn inputs(&self) -> Vec<Array> {
        match &*self.inner.lock_state() {
            State::Pending(n) => n.inputs.clone(),
            _ => Vec::new(),
        }
    }

    /// The name of the primitive behind a pending array.
    pub fn primitive_name(&self) -> Option<&'static str> {
        match &*self.inner.lock_state() {
            State::Pending(n) => Some(n.primitive.name()),
            _ => None,
        }
    }

    /// If this array's buffer can be reused by the one consumer that holds it, take it.
    ///
    /// True only when nothing else refers to the array (the consumer's node holds the only
    /// handle), nothing else shares the buffer, the buffer has exactly `bytes` bytes laid
    /// out row-major from offset 0, and it is not a file mapping.
    pub(crate) fn try_donate(&self, bytes: usize) -> Option<Buffer> {
        if Arc::strong_count(&self.inner) != 1 || Arc::weak_count(&self.inner) != 0 {
            return None;
        }
        let mut state = self.inner.lock_state();
        let ok = match &*state {
            State::Ready(d) => {
                d.row_contiguous
                    && d.offset == 0
                    && d.buffer.len() == bytes
                    && Arc::strong_count(&d.buffer) == 1
                    // A file mapping is read-only: its pages are the page cache's.
                    && !d.buffer.is_mapped()
            }
            _ => false,
        };
        if !ok {
            return None;
        }
        match std::mem::replace(&mut *state, State::Donated) {
            State::Ready(d) => Arc::try_unwrap(d.buffer).ok(),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
