"""A base class and a decorator for calculators written in Python."""
from _edgepipe import register_calculator


class Calculator:
    """Base class of a Python calculator (deriving from it is optional).

    Declare the ports as class attributes, each a dict {TAG: kind} or a list
    of tags (kind "any"): ``inputs``, ``outputs``, ``input_side_packets``,
    ``output_side_packets``. Kinds: any, image, tensor, tensors, detections,
    bool, int, float, str; a trailing "?" makes the port optional.

    ``open(ctx)`` runs once per node before any packet, ``process(ctx)`` once
    per input timestamp (``ctx.inputs[tag]`` is the value or None; add outputs
    with ``ctx.output(tag, value)`` or return ``{tag: value}``), ``close(ctx)``
    once at the end. A source (no inputs) raises StopIteration from process()
    when it is finished. Images and tensors arrive as read-only numpy views of
    the packets (no copy); results (detections, …) as dicts and lists.
    """

    inputs: dict = {}
    outputs: dict = {}
    input_side_packets: dict = {}
    output_side_packets: dict = {}

    def open(self, ctx):
        """Called once, before the first packet."""

    def process(self, ctx):
        """Called for every input timestamp; must be overridden."""
        raise NotImplementedError(f"{type(self).__name__}.process")

    def close(self, ctx):
        """Called once, at the end of the run."""


def calculator(name=None):
    """Class decorator: registers the class as calculator `name` (default: the class name).

        @edgepipe.calculator("ScoreFilter")
        class ScoreFilter(edgepipe.Calculator): ...
    """

    def register(cls):
        register_calculator(name or cls.__name__, cls)
        return cls

    return register
