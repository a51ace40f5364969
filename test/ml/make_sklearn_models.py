"""Makes the scikit-learn models test/sklearn.test.ts runs, with onnxruntime's outputs as reference.

Usage: make_sklearn_models.py OUT_DIR   (test/sklearn.test.ts uses .cache/sklearn-models)

Each case trains a small scikit-learn model (fixed seeds, fixed synthetic data), converts it with
skl2onnx (classifiers with zipmap=False: ZipMap is not what these cases test), runs the ONNX file
with onnxruntime on held-out rows, and writes into OUT_DIR/<case>/:
    model.onnx             the converted model
    input_<i>.pb           its inputs (ONNX TensorProto files, which rt.tensorFromOnnx reads)
    output_<i>.pb          onnxruntime's outputs, in the model's output order
A few cases are written by hand with onnx.helper, for operators and attribute forms skl2onnx does
not emit (CategoryMapper, string labels on the old tree ops, Imputer on int64, ...).
OUT_DIR/manifest.json lists the cases, and OUT_DIR/generator.sha256 holds this file's hash: when
it matches, OUT_DIR is up to date and the script exits before the heavy imports.
"""
import hashlib
import json
import os
import shutil
import sys

OPSETS = {"": 17, "ai.onnx.ml": 3}
IR_VERSION = 9  # onnxruntime 1.30 reads IR versions up to 13; onnx 1.23 writes 14 by default


def generator_hash():
    with open(__file__, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def up_to_date(out_dir):
    stamp = os.path.join(out_dir, "generator.sha256")
    return os.path.exists(stamp) and open(stamp).read().strip() == generator_hash()


def data():
    import numpy as np
    from sklearn.datasets import make_classification, make_regression

    x2, y2 = make_classification(n_samples=240, n_features=6, n_informative=4, random_state=0)
    x3, y3 = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=1)
    xr, yr = make_regression(n_samples=240, n_features=6, noise=5.0, random_state=2)
    _, yr2 = make_regression(n_samples=240, n_features=6, n_targets=2, random_state=2)
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    return {
        "binary": (f32(x2[:200]), y2[:200], f32(x2[200:])),
        "multi": (f32(x3[:250]), y3[:250], f32(x3[250:])),
        "strings": (f32(x3[:250]), np.array(["cat", "dog", "eel"])[y3[:250]], f32(x3[250:])),
        "regression": (f32(xr[:200]), yr[:200], f32(xr[200:])),
        "regression2": (f32(xr[:200]), yr2[:200], f32(xr[200:])),
    }


def sklearn_cases():
    """(name, estimator, data key) for every converted case."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, Normalizer, OneHotEncoder, StandardScaler
    from sklearn.svm import SVC, SVR, LinearSVC
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    forest = dict(n_estimators=8, max_depth=5, random_state=0)
    boost = dict(n_estimators=15, max_depth=3, random_state=0)
    return [
        ("logistic_regression_binary", LogisticRegression(max_iter=500), "binary"),
        ("logistic_regression_multi", LogisticRegression(max_iter=500), "multi"),
        ("logistic_regression_strings", LogisticRegression(max_iter=500), "strings"),
        ("linear_regression", LinearRegression(), "regression"),
        ("linear_regression_two_targets", LinearRegression(), "regression2"),
        ("linear_svc_binary", LinearSVC(random_state=0), "binary"),
        ("linear_svc_multi", LinearSVC(random_state=0), "multi"),
        ("svc_rbf_binary", SVC(kernel="rbf"), "binary"),
        ("svc_rbf_binary_proba", SVC(kernel="rbf", probability=True, random_state=0), "binary"),
        ("svc_rbf_multi", SVC(kernel="rbf"), "multi"),
        ("svc_poly_multi", SVC(kernel="poly", degree=3), "multi"),
        ("svc_rbf_multi_proba", SVC(kernel="rbf", probability=True, random_state=0), "multi"),
        ("svc_poly_strings_proba", SVC(kernel="poly", probability=True, random_state=0), "strings"),
        ("svr_rbf", SVR(kernel="rbf", C=50.0), "regression"),
        ("svr_linear", SVR(kernel="linear"), "regression"),
        ("decision_tree_classifier", DecisionTreeClassifier(max_depth=5, random_state=0), "multi"),
        ("decision_tree_classifier_binary", DecisionTreeClassifier(max_depth=5, random_state=0), "binary"),
        ("decision_tree_classifier_strings", DecisionTreeClassifier(max_depth=4, random_state=0), "strings"),
        ("decision_tree_regressor", DecisionTreeRegressor(max_depth=6, random_state=0), "regression"),
        ("random_forest_classifier_binary", RandomForestClassifier(**forest), "binary"),
        ("random_forest_classifier_multi", RandomForestClassifier(**forest), "multi"),
        ("random_forest_regressor", RandomForestRegressor(**forest), "regression"),
        ("random_forest_regressor_two_targets", RandomForestRegressor(**forest), "regression2"),
        ("gradient_boosting_classifier_binary", GradientBoostingClassifier(**boost), "binary"),
        ("gradient_boosting_classifier_multi", GradientBoostingClassifier(**boost), "multi"),
        ("gradient_boosting_regressor", GradientBoostingRegressor(**boost), "regression"),
        ("standard_scaler", StandardScaler(), "regression"),
        ("min_max_scaler", MinMaxScaler(), "regression"),
        ("normalizer_l1", Normalizer(norm="l1"), "regression"),
        ("normalizer_l2", Normalizer(norm="l2"), "regression"),
        ("normalizer_max", Normalizer(norm="max"), "regression"),
        ("one_hot_encoder", OneHotEncoder(handle_unknown="ignore"), "categories"),
        ("simple_imputer_mean", SimpleImputer(strategy="mean"), "missing"),
        ("simple_imputer_constant", SimpleImputer(strategy="constant", fill_value=-7.5), "missing"),
        ("pipeline_impute_scale_logistic", Pipeline([
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(max_iter=500)),
        ]), "missing_multi"),
        ("pipeline_columns_forest", Pipeline([
            ("columns", ColumnTransformer([
                ("numbers", StandardScaler(), [0, 1, 2]),
                ("codes", OneHotEncoder(handle_unknown="ignore"), [3, 4]),
            ])),
            ("classify", RandomForestClassifier(**forest)),
        ]), "mixed_multi"),
    ]


def derived_data(sets):
    """Data sets made from the others: small integer codes, missing values, mixed columns."""
    import numpy as np

    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, size=(80, 3)).astype(np.float32)
    x, y, test = sets["multi"]
    holes = lambda a: np.where(rng.random(a.shape) < 0.15, np.nan, a).astype(np.float32)
    mixed = lambda a: np.concatenate([a[:, :3], np.abs(np.round(a[:, 3:5]))], axis=1).astype(np.float32)
    # Rows 60.. hold a code (4) that training never saw.
    unseen = codes[60:].copy()
    unseen[::3, 1] = 4
    sets["categories"] = (codes[:60], None, unseen)
    sets["missing"] = (holes(sets["regression"][0]), None, holes(sets["regression"][2]))
    sets["missing_multi"] = (holes(x), y, holes(test))
    sets["mixed_multi"] = (mixed(x), y, mixed(test))
    return sets


def convert(name, estimator, x_train):
    from skl2onnx import to_onnx

    from sklearn.base import is_classifier
    from sklearn.svm import LinearSVC

    # Classifiers end in a ZipMap unless told not to; LinearSVC has none to turn off.
    steps = [step for _, step in getattr(estimator, "steps", [("", estimator)])]
    options = {id(s): {"zipmap": False} for s in steps if is_classifier(s) and not isinstance(s, LinearSVC)}
    model = to_onnx(estimator, x_train[:1], target_opset=OPSETS, options=options)
    model.ir_version = IR_VERSION
    # skl2onnx 1.20 declares a forest regressor's output as [N, 1] whatever its target count
    # (onnxruntime only warns; Tessera holds outputs to their declared shapes).
    targets = getattr(estimator, "n_outputs_", 1)
    if targets > 1 and not is_classifier(estimator):
        model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = targets
    model.graph.name = name
    return model


def hand_written_cases():
    """(name, model, inputs) for attribute forms and operators that skl2onnx does not emit."""
    import numpy as np
    from onnx import TensorProto, helper

    def model(name, op, inputs, outputs, **attributes):
        node = helper.make_node(op, [i.name for i in inputs], [o.name for o in outputs], domain="ai.onnx.ml", **attributes)
        graph = helper.make_graph([node], name, inputs, outputs)
        opsets = [helper.make_opsetid(d, v) for d, v in OPSETS.items()]
        return helper.make_model(graph, opset_imports=opsets, ir_version=IR_VERSION)

    info = helper.make_tensor_value_info
    x = info("X", TensorProto.FLOAT, [None, 3])
    rows = np.array([[0.5, -1.0, 2.0], [-0.25, 3.0, -1.5], [0.0, 0.1, 0.2], [1.5, -0.5, 0.0]], np.float32)
    stump = dict(
        nodes_treeids=[0, 0, 0, 0, 0], nodes_nodeids=[0, 1, 2, 3, 4], nodes_featureids=[0, 1, 0, 0, 0],
        nodes_values=[0.1, 0.5, 0, 0, 0], nodes_modes=["BRANCH_LEQ", "BRANCH_GT", "LEAF", "LEAF", "LEAF"],
        nodes_truenodeids=[1, 2, 0, 0, 0], nodes_falsenodeids=[4, 3, 0, 0, 0],
    )
    leaves = dict(class_treeids=[0, 0, 0, 0, 0], class_nodeids=[2, 3, 4, 4, 2], class_ids=[0, 1, 2, 0, 2],
                  class_weights=[0.6, 0.9, 0.7, 0.2, 0.3])
    cases = [
        ("tree_classifier_string_labels_softmax", model(
            "t", "TreeEnsembleClassifier", [x], [info("Y", TensorProto.STRING, [None]), info("Z", TensorProto.FLOAT, None)],
            classlabels_strings=["a", "b", "c"], base_values=[0.1, 0.2, -0.1], post_transform="SOFTMAX", **stump, **leaves,
        ), [rows]),
        ("linear_classifier_one_score_logistic", model(
            "l", "LinearClassifier", [x], [info("Y", TensorProto.INT64, [None]), info("Z", TensorProto.FLOAT, None)],
            coefficients=[0.3, -0.2, 0.1], intercepts=[0.05], classlabels_ints=[4, 7], post_transform="LOGISTIC",
        ), [rows]),
        ("linear_classifier_strings_softmax_zero", model(
            "l", "LinearClassifier", [x], [info("Y", TensorProto.STRING, [None]), info("Z", TensorProto.FLOAT, None)],
            coefficients=[0.3, -0.2, 0.1, 0.0, 0.0, 0.0, -1.0, 0.5, 0.25], intercepts=[0.05, 0.0, -0.1],
            classlabels_strings=["x", "y", "z"], post_transform="SOFTMAX_ZERO",
        ), [rows]),
        ("svm_regressor_one_class", model(
            "s", "SVMRegressor", [x], [info("Y", TensorProto.FLOAT, None)],
            coefficients=[0.5, -0.25], support_vectors=[0.0, 1.0, 0.5, -1.0, 0.2, 0.0], n_supports=2, one_class=1,
            kernel_type="SIGMOID", kernel_params=[0.3, 0.1, 0], rho=[0.05],
        ), [rows]),
        ("scaler_broadcast", model(
            "s", "Scaler", [x], [info("Y", TensorProto.FLOAT, None)], offset=[0.5], scale=[-2.0],
        ), [rows]),
        ("imputer_int64", model(
            "i", "Imputer", [info("X", TensorProto.INT64, [None, 2])], [info("Y", TensorProto.INT64, None)],
            imputed_value_int64s=[7, 9], replaced_value_int64=-1,
        ), [np.array([[1, -1], [-1, 3], [-1, -1]], np.int64)]),
        ("category_mapper_to_int", model(
            "c", "CategoryMapper", [info("X", TensorProto.STRING, [None])], [info("Y", TensorProto.INT64, None)],
            cats_strings=["low", "mid", "high"], cats_int64s=[10, 20, 30], default_int64=-5,
        ), [np.array(["mid", "high", "none", "low"], object)]),
        ("category_mapper_to_string", model(
            "c", "CategoryMapper", [info("X", TensorProto.INT64, [None, 2])], [info("Y", TensorProto.STRING, None)],
            cats_strings=["low", "mid", "high"], cats_int64s=[10, 20, 30], default_string="?",
        ), [np.array([[20, 30], [11, 10]], np.int64)]),
        ("one_hot_encoder_strings", model(
            "o", "OneHotEncoder", [info("X", TensorProto.STRING, [None, 2])], [info("Y", TensorProto.FLOAT, None)],
            cats_strings=["red", "green", "blue"], zeros=1,
        ), [np.array([["red", "blue"], ["green", "violet"]], object)]),
        ("feature_vectorizer_mixed", model(
            "f", "FeatureVectorizer", [info("A", TensorProto.INT64, [None, 2]),
             info("B", TensorProto.INT64, [None, 4])],
            [info("Y", TensorProto.FLOAT, None)], inputdimensions=[1, 3],
        ), [np.array([[1, 2], [3, 4]], np.int64), np.array([[5, 6, 7, 8], [-5, -6, -7, -8]], np.int64)]),
    ]
    return cases


def run_onnxruntime(model, inputs):
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return names, [o.name for o in session.get_outputs()], session.run(None, dict(zip(names, inputs)))


def write_case(out_dir, name, model, inputs):
    import numpy as np
    from onnx import numpy_helper

    folder = os.path.join(out_dir, name)
    os.makedirs(folder)
    input_names, output_names, outputs = run_onnxruntime(model, inputs)
    with open(os.path.join(folder, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    for kind, values in (("input", inputs), ("output", outputs)):
        for i, v in enumerate(values):
            array = np.asarray(v)
            proto = numpy_helper.from_array(array.astype(object) if array.dtype.kind in "OU" else array)
            with open(os.path.join(folder, f"{kind}_{i}.pb"), "wb") as f:
                f.write(proto.SerializeToString())
    ops = sorted({n.op_type for n in model.graph.node})
    return {"name": name, "inputs": input_names, "outputs": output_names, "ops": ops}


def main():
    out_dir = sys.argv[1]
    if up_to_date(out_dir):
        return
    import warnings

    warnings.filterwarnings("ignore")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    sets = derived_data(data())
    manifest = []
    for name, estimator, key in sklearn_cases():
        x_train, y_train, x_test = sets[key]
        estimator.fit(x_train, y_train)
        manifest.append(write_case(out_dir, name, convert(name, estimator, x_train), [x_test]))
    for name, model, inputs in hand_written_cases():
        manifest.append(write_case(out_dir, name, model, inputs))
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    with open(os.path.join(out_dir, "generator.sha256"), "w") as f:
        f.write(generator_hash() + "\n")


if __name__ == "__main__":
    main()
