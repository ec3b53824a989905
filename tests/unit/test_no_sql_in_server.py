"""The server holds no SQL: its routes parse, call a service and serialise.

Read from the source (an AST walk, not an import), so a statement built in a
router, a web page or a hook fails here before it is ever run: no module
under ``haul/server`` imports SQLAlchemy's statement constructors (select,
update, insert, delete, text) nor reaches them as ``sqlalchemy.<name>``, and
none imports ``haul.store.queries`` (the services call those).
"""

from __future__ import annotations

import ast
from pathlib import Path

import haul.server

SERVER = Path(haul.server.__file__).parent
CONSTRUCTORS = {"select", "update", "insert", "delete", "text"}


def _offences(tree: ast.AST) -> list[str]:
    found: list[str] = []
    aliases: set[str] = set()  # local names bound to a sqlalchemy module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "sqlalchemy":
                for alias in node.names:
                    if alias.name in CONSTRUCTORS or alias.name == "*":
                        found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
            if node.module.startswith("haul.store.queries") or (
                node.module == "haul.store" and any(a.name == "queries" for a in node.names)
            ):
                found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    aliases.add((alias.asname or alias.name).split(".")[0])
                if alias.name.startswith("haul.store.queries"):
                    found.append(f"line {node.lineno}: import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in CONSTRUCTORS:
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_of_the_server_builds_sql() -> None:
    modules = sorted(SERVER.rglob("*.py"))
    assert any(p.parent.name == "routers" for p in modules)
    assert any(p.parent.name == "web" for p in modules)
    offences = {
        str(p.relative_to(SERVER)): found
        for p in modules
        if (found := _offences(ast.parse(p.read_text(encoding="utf-8"))))
    }
    assert offences == {}


def test_the_check_sees_each_way_of_reaching_a_constructor() -> None:
    source = (
        "from sqlalchemy import select\n"
        "from sqlalchemy.sql import text as t\n"
        "import sqlalchemy as sa\n"
        "q = sa.update\n"
        "import sqlalchemy.sql\n"
        "r = sqlalchemy.sql.delete\n"
        "from haul.store.queries import names\n"
        "from haul.store import queries\n"
        "from sqlalchemy.orm import Session\n"
    )
    assert len(_offences(ast.parse(source))) == 6
