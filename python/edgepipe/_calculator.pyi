# Type stubs: Python calculators (edgepipe.Calculator, edgepipe.calculator,
# edgepipe.register_calculator) and the graph-config helper.
from typing import Any, Callable, ClassVar, Dict, List, Mapping, Optional, Sequence, TypeVar, Union

Ports = Union[Dict[str, str], Sequence[str]]
_C = TypeVar("_C", bound=type)

class CalculatorContext:
    inputs: Dict[str, Any]
    side_packets: Dict[str, Any]
    timestamp_us: Optional[int]
    node_name: str
    def output(self, tag: str, value: Any, timestamp_us: Optional[int] = ...) -> None: ...
    def set_side_packet(self, tag: str, value: Any) -> None: ...

class Calculator:
    inputs: ClassVar[Ports]
    outputs: ClassVar[Ports]
    input_side_packets: ClassVar[Ports]
    output_side_packets: ClassVar[Ports]
    def open(self, ctx: CalculatorContext) -> None: ...
    def process(self, ctx: CalculatorContext) -> Optional[Mapping[str, Any]]: ...
    def close(self, ctx: CalculatorContext) -> None: ...

def register_calculator(name: str, cls: type) -> None: ...
def calculator(name: Optional[str] = ...) -> Callable[[_C], _C]: ...
def adapt_graph_config(path: str, inputs_from: List[str] = ..., drop: List[str] = ...,
                       options: Dict[str, str] = ..., base_dir: str = ...) -> str: ...
