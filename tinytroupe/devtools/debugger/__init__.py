"""The debugger: pause a running world on breakpoints, step through it by agent turn or world step, look
at and change its agents, see the exact prompt and answer of any turn, and go on.

Public names: :class:`Debugger` (``Debugger(world)``), :class:`Breakpoint`, :class:`Hit`, :class:`Pause`,
:class:`TurnRecord`, :class:`CallRecord`, :class:`AgentView`, :class:`DebugExecutor`. The terminal front
end (``tinytroupe debug SCENARIO``) is :mod:`.repl`; rich views of each result are in :mod:`.views`.

Modules: :mod:`.breakpoints` (conditions on events), :mod:`.seams` (where a run can pause: the executor
wrapper and the step hook), :mod:`.pausing` (the hand-over between the run and its driver),
:mod:`.calls` (prompts and answers, grouped by turn), :mod:`.state_edit` (edits by path over the agent's
state model), :mod:`.inspection` and :mod:`.debugger` (the ``Debugger``).
"""

from tinytroupe.devtools.debugger.breakpoints import Breakpoint, Hit
from tinytroupe.devtools.debugger.calls import CallRecord, TurnRecord
from tinytroupe.devtools.debugger.debugger import Debugger
from tinytroupe.devtools.debugger.inspection import AgentView
from tinytroupe.devtools.debugger.pausing import Pause, Resume
from tinytroupe.devtools.debugger.seams import DebugExecutor, Seam

__all__ = ["AgentView", "Breakpoint", "CallRecord", "DebugExecutor", "Debugger", "Hit", "Pause", "Resume", "Seam",
           "TurnRecord"]
