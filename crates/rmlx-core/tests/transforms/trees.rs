//! Transforms over trees (nested dicts, lists, tuples with None leaves) and tree_merge.

use rmlx_core as mx;
use rmlx_core::Array;
use rmlx_core::tree::{Tree, grad_tree, jvp_tree, tree_flatten, tree_merge, vjp_tree, vmap_tree};

fn leaf(t: &Tree, path: &str) -> Array {
    tree_flatten(t, "")
        .into_iter()
        .find(|(k, _)| k == path)
        .and_then(|(_, t)| t.as_array().cloned())
        .unwrap_or_else(|| panic!("no array at {path}"))
}

fn vals(a: &Array) -> Vec<f32> {
    a.astype(mx::float32).unwrap().to_vec::<f32>().unwrap()
}

fn keys(t: &Tree) -> Vec<String> {
    tree_flatten(t, "").into_iter().map(|(k, _)| k).collect()
}

/// A small model: {"layers": [{"w", "b"}, {"w", "b": None}], "scale": (s,)}.
fn params() -> Tree {
    Tree::dict([
        (
            "layers",
            Tree::List(vec![
                Tree::dict([
                    ("w", Tree::from(mx::array![[0.5f32, -1.0], [2.0, 0.25]])),
                    ("b", Tree::from(mx::array![0.1f32, -0.2])),
                ]),
                Tree::dict([
                    ("w", Tree::from(mx::array![[1.5f32, 0.5], [-0.5, 1.0]])),
                    ("b", Tree::None),
                ]),
            ]),
        ),
        ("scale", Tree::Tuple(vec![Tree::from(mx::array![2.0f32])])),
    ])
}

fn forward(p: &Tree, x: &Array) -> mx::Result<Array> {
    let mut h = mx::tanh(&mx::add(
        &mx::matmul(x, &leaf(p, "layers.0.w"))?,
        &leaf(p, "layers.0.b"),
    )?)?;
    h = mx::matmul(&h, &leaf(p, "layers.1.w"))?;
    mx::multiply(&h, &leaf(p, "scale.0"))
}

#[test]
fn gradients_keep_the_tree_structure_with_none_leaves() {
    let x = mx::array![[1.0f32, 2.0], [-1.0, 0.5]];
    let loss = {
        let x = x.clone();
        move |t: &[Tree]| Ok(Tree::from(mx::sum(&mx::square(&forward(&t[0], &x)?)?)?))
    };
    let g = grad_tree(loss, &[0])(&[params()]).unwrap();
    assert_eq!(keys(&g), keys(&params()));
    assert!(matches!(
        tree_flatten(&g, "")
            .into_iter()
            .find(|(k, _)| k == "layers.1.b"),
        Some((_, Tree::None))
    ));
    assert!(matches!(g.get("scale"), Some(Tree::Tuple(_))));
    // Against finite differences on one weight entry (float32: loose tolerance).
    let gw = vals(&leaf(&g, "layers.0.w"));
    let f = |d: f32| {
        let mut p = params();
        if let Tree::Dict(items) = &mut p {
            let Tree::List(layers) = &mut items[0].1 else {
                unreachable!()
            };
            let Tree::Dict(l0) = &mut layers[0] else {
                unreachable!()
            };
            l0[0].1 = Tree::from(mx::array![[0.5f32 + d, -1.0], [2.0, 0.25]]);
        }
        mx::sum(&mx::square(&forward(&p, &x).unwrap()).unwrap())
            .unwrap()
            .item::<f32>()
            .unwrap()
    };
    let fd = (f(1e-2) - f(-1e-2)) / 2e-2;
    assert!(
        (gw[0] - fd).abs() < 1e-2 * (1.0 + fd.abs()),
        "{} vs {fd}",
        gw[0]
    );
}

#[test]
fn vjp_and_jvp_over_trees_agree() {
    let x = mx::array![[1.0f32, 2.0], [-1.0, 0.5]];
    let f = {
        let x = x.clone();
        move |t: &[Tree]| -> mx::Result<Tree> {
            let y = forward(&t[0], &x)?;
            Ok(Tree::dict([
                ("y", Tree::from(y.clone())),
                ("aux", Tree::None),
            ]))
        }
    };
    let cot = Tree::dict([
        ("y", Tree::from(mx::array![[1.0f32, 0.0], [0.5, -1.0]])),
        ("aux", Tree::None),
    ]);
    let (out, g) = vjp_tree(&f, &[params()], &cot).unwrap();
    assert_eq!(keys(&out), ["y", "aux"]);
    assert_eq!(keys(&g[0]), keys(&params()));
    // <cot, J t> == <J^T cot, t> with t = ones on every leaf.
    let ones = mx::tree::tree_map(&params(), &mut |a: &Array| mx::ones_like(a)).unwrap();
    let (_, t) = jvp_tree(&f, &[params()], &[ones]).unwrap();
    let lhs: f32 =
        vals(&mx::sum(&mx::multiply(&leaf(&cot, "y"), &leaf(&t, "y")).unwrap()).unwrap())[0];
    let rhs: f32 = g[0]
        .leaves()
        .iter()
        .map(|a| vals(&mx::sum(a).unwrap())[0])
        .sum();
    assert!(
        (lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()),
        "{lhs} vs {rhs}"
    );
}

#[test]
fn vmap_over_trees_shares_unbatched_arguments() {
    // Per-example outputs with shared parameters (None) and a batched input tree.
    let xs = mx::array![[[1.0f32, 2.0]], [[-1.0, 0.5]], [[0.0, 3.0]]];
    let batch = Tree::dict([("x", Tree::from(xs.clone()))]);
    let f = |t: &[Tree]| -> mx::Result<Tree> {
        let y = forward(&t[0], t[1].get("x").unwrap().as_array().unwrap())?;
        Ok(Tree::Tuple(vec![
            Tree::from(y.clone()),
            Tree::from(mx::sum(&y)?),
        ]))
    };
    let out = vmap_tree(f, &[None, Some(0)], Some(0))(&[params(), batch]).unwrap();
    let Tree::Tuple(items) = &out else {
        panic!("a tuple")
    };
    assert_eq!(items[0].as_array().unwrap().shape(), &[3, 1, 2]);
    assert_eq!(items[1].as_array().unwrap().shape(), &[3]);
    for k in 0..3 {
        let xk = mx::take(&xs, k as isize, Some(0)).unwrap();
        let want = vals(&forward(&params(), &xk).unwrap());
        let got = vals(&mx::take(items[0].as_array().unwrap(), k as isize, Some(0)).unwrap());
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
    // A wrong number of in_axes.
    let err = vmap_tree(f, &[None], Some(0))(&[params(), Tree::None]).unwrap_err();
    assert!(err.to_string().contains("number of in axes"), "{err}");
}

#[test]
fn tree_merge_as_mlx() {
    let a1 = || Tree::from(mx::array![1.0f32]);
    let a2 = || Tree::from(mx::array![2.0f32]);
    // {'a':1,'b':{'c':2}} + {'d':3,'b':{'e':4}} -> a, b.c, b.e, d
    let a = Tree::dict([("a", a1()), ("b", Tree::dict([("c", a2())]))]);
    let b = Tree::dict([("d", a1()), ("b", Tree::dict([("e", a2())]))]);
    let m = tree_merge(&a, &b, None).unwrap();
    assert_eq!(keys(&m), ["a", "b.c", "b.e", "d"]);
    // [1, None] + [None, 2, 3] -> [1, 2, 3]
    let m = tree_merge(
        &Tree::List(vec![a1(), Tree::None]),
        &Tree::List(vec![Tree::None, a2(), a1()]),
        None,
    )
    .unwrap();
    assert_eq!(
        m.leaves().iter().map(|x| vals(x)[0]).collect::<Vec<_>>(),
        [1.0, 2.0, 1.0]
    );
    // Two leaves at one place: an error without a merge function, merged with one.
    let err = tree_merge(&Tree::dict([("a", a1())]), &Tree::dict([("a", a2())]), None).unwrap_err();
    assert_eq!(err.kind(), mx::ErrorKind::Value);
    assert_eq!(
        err.to_string(),
        "Trees contain elements at the same locations but no merge function was provided"
    );
    let mut add = |x: &Tree, y: &Tree| -> mx::Result<Tree> {
        Ok(Tree::from(mx::add(
            x.as_array().unwrap(),
            y.as_array().unwrap(),
        )?))
    };
    let m = tree_merge(
        &Tree::dict([("a", a1())]),
        &Tree::dict([("a", a2())]),
        Some(&mut add),
    )
    .unwrap();
    assert_eq!(vals(&leaf(&m, "a")), [3.0]);
    // Empty containers of different kinds.
    let err = tree_merge(&Tree::List(vec![]), &Tree::Dict(vec![]), None).unwrap_err();
    assert_eq!(err.to_string(), "Cannot merge list with dict");
    // An empty container is an empty subtree.
    let m = tree_merge(&Tree::List(vec![]), &Tree::dict([("x", a1())]), None).unwrap();
    assert_eq!(keys(&m), ["x"]);
}
