//! Learning-rate schedules (MLX's `mlx.optimizers.schedulers`): each returns a [`Schedule`],
//! a function of the step (a `uint64` scalar array) usable as any optimizer's learning rate.
//!
//! ```
//! use rmlx_optimizers::{Optimizer, Adam, schedulers};
//! use rmlx_core as mx;
//! let warmup = schedulers::linear_schedule(0.0, 1e-3, 10)?;
//! let decay = schedulers::cosine_decay(1e-3, 100, 0.0)?;
//! let lr = schedulers::join_schedules(vec![warmup, decay], &[10])?;
//! let opt = Adam::new(lr)?;
//! assert_eq!(opt.learning_rate()?.item::<f32>()?, 0.0);
//! # Ok::<(), mx::Error>(())
//! ```

use crate::optimizer::Schedule;
use rmlx_core::{self as mx, Error, Result};

/// `init * decay_rate ^ step`.
///
/// ```
/// use rmlx_optimizers::schedulers::exponential_decay;
/// let s = exponential_decay(0.1, 0.9);
/// let v = s.call(&rmlx_core::Array::scalar(2u64))?.item::<f32>()?;
/// assert!((v - 0.081).abs() < 1e-7);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn exponential_decay(init: f64, decay_rate: f64) -> Schedule {
    Schedule::new(move |step| mx::multiply(init, mx::power(decay_rate, step)?))
}

/// `init * decay_rate ^ (step // step_size)`; `step_size` must be positive.
///
/// ```
/// use rmlx_optimizers::schedulers::step_decay;
/// let s = step_decay(0.1, 0.9, 10)?;
/// assert_eq!(s.call(&rmlx_core::Array::scalar(9u64))?.item::<f32>()?, 0.1);
/// assert!(step_decay(0.1, 0.9, 0).is_err());
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn step_decay(init: f64, decay_rate: f64, step_size: i64) -> Result<Schedule> {
    if step_size < 1 {
        return Err(Error::value(format!(
            "step_size must be greater than 0, but got {step_size}."
        )));
    }
    Ok(Schedule::new(move |step| {
        mx::multiply(
            init,
            mx::power(decay_rate, mx::floor_divide(step, step_size)?)?,
        )
    }))
}

/// Cosine decay from `init` to `end` over `decay_steps` steps, then constant at `end`.
///
/// ```
/// use rmlx_optimizers::schedulers::cosine_decay;
/// let s = cosine_decay(0.1, 1000, 0.0)?;
/// assert_eq!(s.call(&rmlx_core::Array::scalar(0u64))?.item::<f32>()?, 0.1);
/// assert_eq!(s.call(&rmlx_core::Array::scalar(5000u64))?.item::<f32>()?, 0.0);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn cosine_decay(init: f64, decay_steps: i64, end: f64) -> Result<Schedule> {
    if decay_steps < 1 {
        return Err(Error::value(format!(
            "decay_steps must be greater than 0, but got {decay_steps}."
        )));
    }
    Ok(Schedule::new(move |step| {
        let s = mx::minimum(step, decay_steps)?;
        let angle = mx::multiply(std::f64::consts::PI / decay_steps as f64, &s)?;
        let decay = mx::multiply(0.5, mx::add(1.0, mx::cos(&angle)?)?)?;
        mx::add(end, mx::multiply(&decay, init - end)?)
    }))
}

/// Joins schedules: schedule `i + 1` takes over at `boundaries[i]`, seeing the steps since
/// that boundary. There must be one boundary fewer than schedules.
///
/// ```
/// use rmlx_optimizers::schedulers::{join_schedules, linear_schedule, exponential_decay};
/// let s = join_schedules(vec![linear_schedule(0.0, 0.1, 10)?, exponential_decay(0.1, 0.5)], &[10])?;
/// assert_eq!(s.call(&rmlx_core::Array::scalar(11u64))?.item::<f32>()?, 0.05);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn join_schedules(schedules: Vec<Schedule>, boundaries: &[i64]) -> Result<Schedule> {
    if schedules.is_empty() {
        return Err(Error::value("Must provide at least 1 schedule to join."));
    }
    if schedules.len() != boundaries.len() + 1 {
        return Err(Error::value(format!(
            "Received {} boundaries but expected {}.",
            boundaries.len(),
            schedules.len() - 1
        )));
    }
    let boundaries = boundaries.to_vec();
    Ok(Schedule::new(move |step| {
        let mut output = schedules[0].call(step)?;
        for (&boundary, schedule) in boundaries.iter().zip(&schedules[1..]) {
            let later = schedule.call(&mx::subtract(step, boundary)?)?;
            output = mx::r#where(mx::less(step, boundary)?, &output, &later)?;
        }
        Ok(output)
    }))
}

/// Linear from `init` to `end` over `steps` steps, then constant at `end`.
///
/// ```
/// use rmlx_optimizers::schedulers::linear_schedule;
/// let s = linear_schedule(0.0, 0.1, 100)?;
/// assert_eq!(s.call(&rmlx_core::Array::scalar(1000u64))?.item::<f32>()?, 0.1);
/// # Ok::<(), rmlx_core::Error>(())
/// ```
pub fn linear_schedule(init: f64, end: f64, steps: i64) -> Result<Schedule> {
    if steps < 1 {
        return Err(Error::value(format!(
            "steps must be greater than 0, but got {steps}."
        )));
    }
    Ok(Schedule::new(move |step| {
        let s = mx::minimum(step, steps)?;
        mx::add(mx::multiply(&s, (end - init) / steps as f64)?, init)
    }))
}
