"""The live dashboard: a run watched and steered from a browser (``docs/dashboard.md``).

A FastAPI app served on 127.0.0.1 with a random token: a live conversation timeline (server-sent events
from the run's bus), the social network, an agent inspector, memory and cost charts, insights, and the
controls (play, pause, step, stop, inject, edit) over the debugger. Every page and script ships in the
package; nothing is loaded from elsewhere.

Public names (import from the submodules; fastapi and uvicorn load only when a server starts):
``tinytroupe.dashboard.server``: DashboardServer, open_dashboard, DashboardLink;
``tinytroupe.dashboard.hub``: EventHub; ``tinytroupe.dashboard.follow``: RunFollower;
``tinytroupe.dashboard.control``: DashboardController; ``tinytroupe.dashboard.agents``: AgentPanel,
LiveAgents, CheckpointAgents; ``tinytroupe.dashboard.insights``: InsightCard, InsightProvider;
``tinytroupe.dashboard.security``: Guard, new_token; ``tinytroupe.dashboard.live``: live_watch (``tinytroupe
run --dashboard``); ``tinytroupe.dashboard.commands``: the ``tinytroupe dashboard`` command.
"""
