"""IVR flows: the flow document format, its validator and a pure interpreter.

* ``schema.json`` - the published JSON Schema (draft 2020-12, ``format_version`` 1)
* :mod:`ivr_flows.model` - typed frozen form of a flow
* :mod:`ivr_flows.validator` - ``validate(doc, ...) -> list[FlowError]``
* :mod:`ivr_flows.machine` - ``step(state, event, now) -> (state, commands)``
* :mod:`ivr_flows.cli` - ``ivr validate FILE...``
"""

from .model import FORMAT_VERSION, Flow, parse_flow
from .validator import FlowError, load_schema, validate

__all__ = ["FORMAT_VERSION", "Flow", "FlowError", "load_schema", "parse_flow", "validate"]
