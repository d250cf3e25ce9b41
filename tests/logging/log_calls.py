"""Every logging call in backendkit's source, found by walking its syntax trees.

A call is ``<logger>.<method>(...)`` where the logger is a name bound to
``logging.getLogger(...)`` (or ``structlog.get_logger(...)``) in that module or
imported from the module that binds it, ``logging`` itself, or a
``getLogger(...)`` call. A call of a logging method name on anything the walk
cannot place is reported rather than skipped, as is a message that is not one
string literal: either would let a message escape the tests that render every
message.
"""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeGuard

import backendkit

SOURCE = Path(backendkit.__file__).resolve().parent
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
    "log": -1,  # the level is the first argument
}
_GET_LOGGER = {("logging", "getLogger"), ("structlog", "get_logger"), ("structlog", "getLogger")}
# A %-conversion of a logging message (%% is a literal percent sign, not one).
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])")


@dataclass(frozen=True)
class LogCall:
    """One logging call: where it is, its logger, and its message and arguments as written."""

    path: Path
    lineno: int
    logger: str
    method: str
    template: str
    args: tuple[str, ...]  # the source text of each argument after the message
    level_arg: str | None = None  # for ``log(level, ...)``: the source text of the level

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(SOURCE.parent)}:{self.lineno}"


def conversions(template: str) -> list[str]:
    """The conversion of each argument ``template`` takes, in order: ``s``, ``r``, ``d``, ``f``..."""
    return [m.group(1) for m in _CONVERSION.finditer(template) if m.group(1) != "%"]


def placeholders(template: str) -> int:
    """How many arguments ``template`` takes."""
    return len(conversions(template))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_get_logger(node: ast.expr) -> TypeGuard[ast.Call]:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in ("getLogger", "get_logger")
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and (func.value.id, func.attr) in (_GET_LOGGER)
    )


@dataclass
class _Module:
    path: Path
    tree: ast.Module
    strings: dict[str, str]  # module-level NAME = "text"
    imports: dict[str, tuple[str, str]]  # local name -> (module, name)
    bound: dict[str, ast.Call]  # name -> the getLogger call bound to it (any scope)


def _read(path: Path, source: str) -> _Module:
    tree = ast.parse(source, filename=str(path))
    strings: dict[str, str] = {}
    for statement in tree.body:
        if not isinstance(statement, ast.Assign):
            continue
        if isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str):
            strings.update({t.id: statement.value.value for t in statement.targets if isinstance(t, ast.Name)})
    imports: dict[str, tuple[str, str]] = {}
    bound: dict[str, ast.Call] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imports.update({(a.asname or a.name): (node.module, a.name) for a in node.names})
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_get_logger(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound.update({t.id: node.value for t in targets if isinstance(t, ast.Name)})
    return _Module(path, tree, strings, imports, bound)


class Walk:
    """The logging calls of a set of modules, and what the walk could not place."""

    def __init__(self, sources: Iterable[tuple[Path, str]]) -> None:
        self.modules = {module_name(path): _read(path, text) for path, text in sources}
        self.calls: list[LogCall] = []
        self.problems: list[str] = []
        for module in self.modules.values():
            self._walk(module)

    @classmethod
    def of_backendkit(cls) -> Walk:
        return cls((path, path.read_text(encoding="utf-8")) for path in sorted(SOURCE.rglob("*.py")))

    def _string(self, module: _Module, node: ast.expr, depth: int = 0) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and depth < 5:
            if node.id in module.strings:
                return module.strings[node.id]
            origin = module.imports.get(node.id)
            if origin is not None and origin[0] in self.modules:
                return self._string(self.modules[origin[0]], ast.Name(origin[1]), depth + 1)
        return None

    def _logger(self, module: _Module, receiver: ast.expr, depth: int = 0) -> str | None:
        """The name of the logger ``receiver`` is, or ``None`` if it is not known to be one."""
        if isinstance(receiver, ast.Name) and receiver.id in ("logging", "structlog"):
            return "root"
        if isinstance(receiver, ast.Call) and _is_get_logger(receiver):
            if not receiver.args:
                return "root"
            return self._string(module, receiver.args[0]) or "?"
        if isinstance(receiver, ast.Name) and depth < 5:
            if receiver.id in module.bound:
                return self._logger(module, module.bound[receiver.id], depth + 1)
            origin = module.imports.get(receiver.id)
            if origin is not None and origin[0] in self.modules:
                return self._logger(self.modules[origin[0]], ast.Name(origin[1]), depth + 1)
        return None

    def _walk(self, module: _Module) -> None:
        for node in ast.walk(module.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            method = node.func.attr
            if method not in LEVELS or not (node.args or node.keywords):
                continue  # not a logging method, or a call no logging method allows (future.exception())
            where = f"{module.path.relative_to(SOURCE.parent)}:{node.lineno}"
            logger = self._logger(module, node.func.value)
            if logger is None:
                receiver = ast.unparse(node.func.value)
                self.problems.append(f"{where}: {receiver}.{method}(...) on something the walk cannot place")
                continue
            self._call(module, node, logger, method, where)

    def _call(self, module: _Module, node: ast.Call, logger: str, method: str, where: str) -> None:
        positional = list(node.args[1:] if method == "log" else node.args)
        message = positional.pop(0) if positional else next((k.value for k in node.keywords if k.arg == "msg"), None)
        if not (isinstance(message, ast.Constant) and isinstance(message.value, str)):
            shown = ast.unparse(message) if message is not None else "nothing"
            self.problems.append(f"{where}: the message is {shown}, not a string literal")
            return
        if any(isinstance(arg, ast.Starred) for arg in positional):
            self.problems.append(f"{where}: *arguments cannot be rendered by the walk")
            return
        if placeholders(message.value) != len(positional):
            self.problems.append(f"{where}: {message.value!r} takes {placeholders(message.value)} arguments")
            return
        args = tuple(ast.unparse(arg) for arg in positional)
        level = ast.unparse(node.args[0]) if method == "log" else None
        self.calls.append(LogCall(module.path, node.lineno, logger, method, message.value, args, level))


def walk_snippet(source: str) -> Walk:
    """The walk over one made-up module (for testing the walk itself)."""
    return Walk([(SOURCE / "_snippet.py", source)])
