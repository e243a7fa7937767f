"""The type stubs (python/edgepipe/__init__.pyi) declare exactly what the compiled module has.

A name added to the bindings without a stub, or a stub left behind by a removed
binding, fails here: the stubs are what editors and type checkers show users.
"""
import ast
import inspect
import os

import _edgepipe
import edgepipe

STUBS = os.path.join(os.path.dirname(edgepipe.__file__), "__init__.pyi")


def _stub_tree():
    with open(STUBS, encoding="utf-8") as f:
        return ast.parse(f.read(), STUBS)


def _declared_names(body):
    names = set()
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _public(names):
    return {n for n in names if not n.startswith("_")}


def test_every_module_name_has_a_stub_and_back():
    declared = _declared_names(_stub_tree().body) - {"SidePacketValue"}
    assert declared == _public(dir(_edgepipe))


def test_every_class_method_has_a_stub_and_back():
    for node in _stub_tree().body:
        if not isinstance(node, ast.ClassDef) or not inspect.isclass(getattr(_edgepipe, node.name, None)):
            continue
        cls = getattr(_edgepipe, node.name)
        if issubclass(cls, BaseException):
            continue
        declared = _declared_names(node.body) - {"__init__"}
        actual = _public(n for n in vars(cls))
        assert declared == actual, node.name


def test_stubbed_signatures_name_the_bindings_arguments():
    # pybind11 puts "name(arg: type = default, ...)" first in each docstring.
    for node in _stub_tree().body:
        if not isinstance(node, ast.ClassDef) or node.name not in ("Graph", "Interpreter"):
            continue
        cls = getattr(_edgepipe, node.name)
        for method in node.body:
            if not isinstance(method, ast.FunctionDef) or method.decorator_list and any(
                    isinstance(d, ast.Name) and d.id == "property" for d in method.decorator_list):
                continue
            stub_args = [a.arg for a in method.args.args if a.arg != "self"]
            doc = getattr(cls, method.name).__doc__ or ""
            for arg in stub_args:
                assert f"{arg}:" in doc, f"{node.name}.{method.name}: '{arg}' is not an argument of the binding"


def test_help_of_graph_is_useful():
    text = edgepipe.Graph.__doc__ + "".join(getattr(edgepipe.Graph, n).__doc__ or "" for n in ("add", "observe"))
    assert "PassThroughCalculator" in text and "timestamp" in text


def test_every_task_name_has_a_stub_and_back():
    import types

    from edgepipe import tasks

    path = os.path.join(os.path.dirname(tasks.__file__), "__init__.pyi")
    with open(path, encoding="utf-8") as f:
        body = ast.parse(f.read(), path).body
    annotated = {node.target.id for node in body if isinstance(node, ast.AnnAssign)}  # vision: Any
    declared = _public(_declared_names(body) | annotated) - {"ImageLike"}
    actual = _public(n for n, v in vars(tasks).items() if not isinstance(v, types.ModuleType)) | {"vision"}
    assert declared == actual
