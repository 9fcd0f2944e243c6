use rmlx::core as mx;
use std::time::Instant;

fn time<F: FnMut()>(mut f: F) -> f64 {
    for _ in 0..3 {
        f();
    }
    let mut v = vec![];
    let t0 = Instant::now();
    while t0.elapsed().as_secs_f64() < 0.6 || v.len() < 5 {
        let t = Instant::now();
        f();
        v.push(t.elapsed().as_secs_f64() * 1e3);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    // (m, k, n, transpose a, transpose b)
    let shapes: &[(usize, usize, usize, bool, bool)] = &[
        (256, 784, 512, false, false),
        (256, 512, 512, false, false),
        (784, 256, 512, true, false),
        (512, 256, 512, true, false),
        (256, 512, 784, false, true),
        (2048, 256, 1024, false, false),
        (2048, 1024, 256, false, false),
        (2048, 256, 256, false, false),
        (256, 2048, 1024, true, false),
        (128, 64, 512, false, true),
        (1024, 1024, 1024, false, false),
    ];
    for &(m, k, n, ta, tb) in shapes {
        let a = if ta {
            mx::random::normal(&[k, m], mx::Dtype::Float32, None)
                .unwrap()
                .transpose()
                .unwrap()
        } else {
            mx::random::normal(&[m, k], mx::Dtype::Float32, None).unwrap()
        };
        let b = if tb {
            mx::random::normal(&[n, k], mx::Dtype::Float32, None)
                .unwrap()
                .transpose()
                .unwrap()
        } else {
            mx::random::normal(&[k, n], mx::Dtype::Float32, None).unwrap()
        };
        mx::eval(&[a.clone(), b.clone()]).unwrap();
        let ms = time(|| {
            let c = mx::matmul(&a, &b).unwrap();
            c.eval().unwrap();
        });
        let gf = 2.0 * (m * n * k) as f64 / ms / 1e6;
        println!("{m}x{k}x{n} ta={ta} tb={tb}: {ms:.4} ms {gf:.1} GFLOP/s");
    }
}
