"""``TinyStory``: every simulation tells a story; this one proposes where it goes next.

A story follows one world or one agent. :meth:`TinyStory.start_story` and
:meth:`TinyStory.continue_story` each make one LLM call over the story so far and the target's
recent trajectory (rendered as interventions render it: :mod:`tinytroupe.steering.trajectory`),
append the passage to :attr:`TinyStory.current_story` and return it. The story does not change the
simulation by itself: the caller tells the passage to the people (``world.broadcast(beat)``), which
is how TinyTroupe uses it too.

Differences from TinyTroupe: the passage is a validated structured answer, so an empty or cut-off
answer is re-asked and, if it stays unusable, raised as :class:`~tinytroupe.errors.LLMOutputError`
(TinyTroupe returned whatever text came back); the story so far is shown to the model within a
budget (its newest part), so a long story does not overflow the prompt.

Example (a scripted model stands in for a real one):
    >>> from tinytroupe.agent import TinyPerson
    >>> from tinytroupe.environment import TinyWorld
    >>> from tinytroupe.llm import LLMClient, ScriptedBackend
    >>> client = LLMClient(ScriptedBackend([{"text": "A storm cut the power in the office."}]))
    >>> world = TinyWorld("Office", [TinyPerson("Ana")], client=client, communication_display=False)
    >>> story = TinyStory(world, purpose="See how people cope with surprises.")
    >>> beat = story.continue_story(number_of_words=20)
    >>> world.broadcast(beat, source="Narrator")
    >>> beat, story.current_story.endswith(beat)
    ('A storm cut the power in the office.', True)
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from tinytroupe.agent.person import TinyPerson
from tinytroupe.aio import run_sync
from tinytroupe.environment.world import TinyWorld
from tinytroupe.errors import InvalidArgument, InvalidArgumentType
from tinytroupe.llm.client import LLMClient
from tinytroupe.llm.types import Message
from tinytroupe.steering.trajectory import char_budget, keep_newest, render_prompt, render_trajectory

DEFAULT_PURPOSE = "Be a realistic simulation."
DEFAULT_START_REQUIREMENTS = "Start some interesting story about the agents."
DEFAULT_CONTINUE_REQUIREMENTS = "Continue the story in an interesting way."
#: the longest passage one call may ask for
MAX_WORDS = 2_000


class StoryPassage(BaseModel):
    """The model's answer: one passage of the story."""

    text: str = Field(description="the passage, in plain prose")

    @field_validator("text")
    @classmethod
    def _says_something(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the passage is empty; write the story's passage")
        return value.strip()


def _check_words(number_of_words: int) -> None:
    if isinstance(number_of_words, bool) or not isinstance(number_of_words, int):
        raise InvalidArgumentType(f"number_of_words is a whole number, got {type(number_of_words).__name__}")
    if not 1 <= number_of_words <= MAX_WORDS:
        raise InvalidArgument(f"number_of_words must be between 1 and {MAX_WORDS}, got {number_of_words}")


class TinyStory:
    """The story of a world or of one agent, continued one passage at a time.

    Args:
        environment: the world the story is about; give this or ``agent``, not both.
        agent: the agent the story is about.
        purpose: what the story (and so the simulation) is for; it guides every passage.
        context: the story so far, if it starts from somewhere; passages are appended to it.
        first_n, last_n: how many of the first and last events of each agent's history the model sees.
        include_omission_info: whether the history says how many events in between were left out.
        client: the LLM client (default: the world's or agent's).
        temperature: sampling temperature of the story calls (None: the client's default).

    Raises:
        InvalidArgument: both or neither of ``environment`` and ``agent`` were given.
        InvalidArgumentType: ``environment`` is not a :class:`TinyWorld`, or ``agent`` not a :class:`TinyPerson`.
    """

    def __init__(self, environment: TinyWorld | None = None, agent: TinyPerson | None = None,
                 purpose: str = DEFAULT_PURPOSE, context: str = "", first_n: int | None = 10,
                 last_n: int | None = 20, include_omission_info: bool = True, *,
                 client: LLMClient | None = None, temperature: float | None = None) -> None:
        if (environment is None) == (agent is None):
            raise InvalidArgument("a story is about a world or an agent: give exactly one of environment= or agent="
                                  + (" (both were given)" if environment is not None else ""))
        if environment is not None and not isinstance(environment, TinyWorld):
            raise InvalidArgumentType(f"environment must be a TinyWorld, got {type(environment).__name__}")
        if agent is not None and not isinstance(agent, TinyPerson):
            raise InvalidArgumentType(f"agent must be a TinyPerson, got {type(agent).__name__}")
        self.environment = environment
        self.agent = agent
        self.purpose = purpose
        #: the story so far: ``context`` followed by every passage, each under a heading
        self.current_story = context
        self.first_n = first_n
        self.last_n = last_n
        self.include_omission_info = include_omission_info
        self.client = client
        self.temperature = temperature

    def __repr__(self) -> str:
        about = self.environment.name if self.environment is not None else self.agent.name  # type: ignore[union-attr]
        return f"TinyStory(about={about!r}, purpose={self.purpose!r})"

    def _target(self) -> TinyWorld | TinyPerson:
        target = self.environment if self.environment is not None else self.agent
        assert target is not None  # the constructor requires one
        return target

    def _client(self) -> LLMClient:
        return self.client if self.client is not None else self._target().client

    def _messages(self, starting: bool, requirements: str, number_of_words: int,
                  include_plot_twist: bool, client: LLMClient) -> list[Message]:
        budget = char_budget(client, share=1 / 3)  # a third each: the story so far, the trajectory
        trajectory = render_trajectory([self._target()], self.first_n, self.last_n, self.include_omission_info)
        user = render_prompt("story_user.j2", story=keep_newest(self.current_story.strip(), budget),
                             trajectory=keep_newest(trajectory, budget), requirements=requirements,
                             starting=starting, number_of_words=number_of_words,
                             include_plot_twist=include_plot_twist)
        system = render_prompt("story_system.j2", purpose=self.purpose, starting=starting)
        return [Message(role="system", content=system), Message(role="user", content=user)]

    async def _apassage(self, starting: bool, requirements: str, number_of_words: int,
                        include_plot_twist: bool) -> str:
        _check_words(number_of_words)
        if not isinstance(requirements, str) or not requirements.strip():
            raise InvalidArgument("requirements must say what the passage should do, e.g. "
                                  f"{DEFAULT_CONTINUE_REQUIREMENTS!r}")
        client = self._client()
        world = self.environment.name if self.environment is not None else (
            self.agent.environment.name if self.agent is not None and self.agent.environment is not None else None)
        result = await client.acomplete(
            self._messages(starting, requirements, number_of_words, include_plot_twist, client),
            response_model=StoryPassage, purpose="story", world=world,
            agent=self.agent.name if self.agent is not None else None, temperature=self.temperature)
        text: str = result.value.text
        heading = "The story begins" if starting else "The story continues"
        self.current_story += f"\n\n## {heading}\n\n{text}"
        return text

    async def astart_story(self, requirements: str = DEFAULT_START_REQUIREMENTS, number_of_words: int = 100,
                           include_plot_twist: bool = False) -> str:
        """Async twin of :meth:`start_story`."""
        return await self._apassage(True, requirements, number_of_words, include_plot_twist)

    def start_story(self, requirements: str = DEFAULT_START_REQUIREMENTS, number_of_words: int = 100,
                    include_plot_twist: bool = False) -> str:
        """The story's opening (about ``number_of_words`` words), appended to :attr:`current_story`.

        Raises:
            InvalidArgument: ``number_of_words`` is not between 1 and 2,000, or ``requirements`` is empty.
            LLMOutputError: the model's passage stayed empty or cut off after the re-asks (nothing is appended).
            LLMTransportError: the model server could not be reached.
        """
        return run_sync(self.astart_story(requirements, number_of_words, include_plot_twist))

    async def acontinue_story(self, requirements: str = DEFAULT_CONTINUE_REQUIREMENTS, number_of_words: int = 100,
                              include_plot_twist: bool = False) -> str:
        """Async twin of :meth:`continue_story`."""
        return await self._apassage(False, requirements, number_of_words, include_plot_twist)

    def continue_story(self, requirements: str = DEFAULT_CONTINUE_REQUIREMENTS, number_of_words: int = 100,
                       include_plot_twist: bool = False) -> str:
        """The story's next passage, from the story so far and what happened since; appended to
        :attr:`current_story` and returned, for the caller to tell the people (``world.broadcast``).

        Raises:
            InvalidArgument: ``number_of_words`` is not between 1 and 2,000, or ``requirements`` is empty.
            LLMOutputError: the model's passage stayed empty or cut off after the re-asks (nothing is appended).
            LLMTransportError: the model server could not be reached.
        """
        return run_sync(self.acontinue_story(requirements, number_of_words, include_plot_twist))


__all__ = ["DEFAULT_CONTINUE_REQUIREMENTS", "DEFAULT_PURPOSE", "DEFAULT_START_REQUIREMENTS", "MAX_WORDS",
           "StoryPassage", "TinyStory"]
