"""Records that say which open account they come from, for the "All accounts" tables.

Two open accounts may hold the same client order id, the same position key, the same
asset, even the same venue and account name (two API keys of two people, both "main"):
in one table, a row needs the account it belongs to, and so does every action taken on
it. The account is the window's label (the profile name), not the record's venue and
account fields, which need not be unique across profiles.

A tagged record is a subclass of its domain record with one more field,
`account_label`: it *is* an `Order` (a `Position`, an `InboxItem`...), so every column,
filter, widget and engine call written for the record takes it unchanged, and the
account stays attached to the row wherever the row goes (a selection, a signal, an
amend). Tagging copies the fields without running the record's validation again (it was
validated when it was built): about 3 µs a record. The tagged class of each record
class is made on first use, so a record class added later (or a marked subclass, like the
orders table's "not in ledger" orders) is tagged the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field, fields, is_dataclass, make_dataclass
from typing import Any, TypeVar, cast

T = TypeVar("T")

_TAGGED: dict[type, type] = {}
"""record class -> its tagged subclass (made once, on first use)."""
_COPY: dict[type, Callable[[Any, str], Any]] = {}
"""tagged class -> its copier (record, label) -> tagged record."""
LABEL_FIELD = "account_label"


def _copier(made: type, names: tuple[str, ...]) -> Callable[[Any, str], Any]:
    """A function that copies `names` from a record into a new `made` without running its
    validation: written out field by field (a loop over names costs twice as much, and
    an all-accounts table tags tens of thousands of rows when it is first shown)."""
    lines = ["def copy(src, label):", "    out = new(made)"]
    lines += [f"    put(out, {name!r}, src.{name})" for name in names]
    lines += [f"    put(out, {LABEL_FIELD!r}, label)", "    return out"]
    scope: dict[str, Any] = {"new": object.__new__, "put": object.__setattr__, "made": made}
    exec("\n".join(lines), scope)  # field names of our own dataclasses (checked above)
    copy: Callable[[Any, str], Any] = scope["copy"]
    return copy


def tagged_class(kind: type) -> type:
    """The subclass of the dataclass `kind` that also carries `account_label` (made once).
    A subclass of a subclass keeps what the middle one means: a tagged `VenueOnlyOrder`
    is still a `VenueOnlyOrder` ("not in ledger")."""
    made = _TAGGED.get(kind)
    if made is None:
        if not is_dataclass(kind):
            raise TypeError(f"{kind.__name__} records cannot carry an account")
        made = make_dataclass(f"Account{kind.__name__}",
                              [(LABEL_FIELD, str, field(default=""))], bases=(kind,),
                              frozen=True, slots=True)
        made.__module__ = __name__
        made.__doc__ = f"A {kind.__name__} of one open account (see the module docstring)."
        names = tuple(f.name for f in fields(kind))
        if not all(name.isidentifier() for name in names):
            raise TypeError(f"{kind.__name__} has a field that is not a name")
        _TAGGED[kind] = made
        _COPY[made] = _copier(made, names)
    return made


def tag(record: T, label: str) -> T:
    """`record` as the same record of the account `label` (a tagged record is re-tagged)."""
    kind = type(record)
    copy = _COPY.get(kind)
    if copy is not None:  # tagged already
        if account_of(record) == label:
            return record
    else:
        copy = _COPY[tagged_class(kind)]
    return cast(T, copy(record, label))


def account_of(record: object) -> str | None:
    """The account label of a tagged record; None for a plain one (a one-account table)."""
    label = getattr(record, LABEL_FIELD, None)
    return label if isinstance(label, str) else None
