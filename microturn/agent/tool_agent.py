"""The tool agent: a delegation's request routed to one tool (`router.py`), its arguments
checked against the tool's schema, its result said in words; a timer's end comes later."""

from __future__ import annotations

from microturn.agent import router, tools
from microturn.agent.job import Job


class ToolAgent:
    name = "tools"

    def __init__(self, toolbox: dict[str, tools.Tool] | None = None):
        self.toolbox = toolbox if toolbox is not None else tools.TOOLS

    def run(self, job: Job) -> str:
        call = router.route(job.context.request)
        if call is None:
            raise tools.ToolError("the request has no words")
        out = tools.call(call.tool, call.args, self.toolbox)
        for later in out.later:
            job.later(later.delay_s, later.text)
        return out.text


def warm() -> None:
    """Build the knowledge base now (it is built on first use): a server has it loaded, and
    a benchmark that times the tools should not time the build."""
    from microturn.agent import knowledge

    knowledge.search("the eiffel tower", k=1)
