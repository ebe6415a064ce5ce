"""A griffe extension for the API reference: a public name documents what the package exports under it.

When a package lists a name in ``__all__`` that it imports from one module while another of its
submodules has that same name (``from .users import pacing`` beside ``pacing.py``), Python binds the
imported object, but griffe's static view keeps the submodule, and the reference would show a
module where users get a function. This extension puts the imported object back under the name.
"""

from __future__ import annotations

from typing import Any

import griffe


class ExportedObjects(griffe.Extension):
    """Exported names that a submodule shadows point to the object the package imports under them."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Walk the package's modules once it is loaded and fix each shadowed export."""
        modules = [pkg]
        while modules:
            module = modules.pop()
            for name in module.exports or ():
                member = module.members.get(name)
                target = module.imports.get(name)
                if member is not None and not member.is_alias and member.is_module and target:
                    module.set_member(name, griffe.Alias(name, target, parent=module))
            modules.extend(member for member in module.members.values() if not member.is_alias and member.is_module)
