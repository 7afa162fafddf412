"""``lab.scenario(name)``: a break-fix scenario in the notebook (lesson 8).

The cluster side (files, start, stop) is :mod:`labkit.cluster.scenarios`; the check is the
grader's (:mod:`labkit.grading.scenario_check`). Each failing check shows one more hint, never
all of them at once.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from labkit.cluster import scenarios as cluster_scenarios
from labkit.grading import Grade
from labkit.grading.report import grade_lines, grade_table_html, summary_line
from labkit.grading.scenario_check import check_scenario, scenario_requirements


def check(spec: cluster_scenarios.ScenarioSpec) -> Grade:
    """Grade the scenario's requirements on the lab cluster's objects now."""
    inputs = cluster_scenarios.check_inputs(spec)
    requirements = scenario_requirements(spec.requirements, str(spec.file))
    return check_scenario(
        spec.name, requirements, inputs.broken, inputs.now, enforcement=inputs.enforcement
    )


def kubectl_lines(spec: cluster_scenarios.ScenarioSpec) -> list[str]:
    """The kubectl commands that show what the scenario applied."""
    lines = ["  kubectl get networkpolicy -A"]
    for obj in spec.objects:
        meta = obj.get("metadata") or {}
        kind = str(obj.get("kind", "")).lower()
        lines.append(f"  kubectl describe {kind} {meta.get('name')} -n {meta.get('namespace')}")
    return lines


def passed(grade: Grade) -> bool:
    return all(r.passed for r in grade.requirements)


@dataclass(frozen=True)
class ScenarioCheck:
    """A scenario's check: each requirement with feedback, and the next hint when it fails."""

    grade: Grade
    hint: str = ""

    @property
    def passed(self) -> bool:
        return passed(self.grade)

    def __str__(self) -> str:
        lines = grade_lines(self.grade, public_only=True)
        return "\n".join([*lines, *([f"hint: {self.hint}"] if self.hint else [])])

    def _repr_html_(self) -> str:
        hint = f"<p><b>Hint:</b> {html.escape(self.hint)}</p>" if self.hint else ""
        verdict = "fixed" if self.passed else "not fixed yet"
        return (
            f"<div class='labkit-scenario-check'><p><b>{verdict}</b>: "
            f"{html.escape(summary_line(self.grade, public_only=True))}</p>"
            f"{grade_table_html(self.grade, public_only=True)}{hint}</div>"
        )


@dataclass
class Scenario:
    """One scenario: ``start()`` breaks the lab, ``check()`` says whether it is fixed,
    ``stop()`` resets the lab."""

    spec: cluster_scenarios.ScenarioSpec
    failures: int = field(default=0)

    @property
    def name(self) -> str:
        return self.spec.name

    def start(self) -> str:
        _, report = cluster_scenarios.start(self.spec)
        self.failures = 0
        return (
            f"scenario {self.name} started: {self.spec.title}\n{report}\n\n{self.spec.story}"
            f"\n\nby hand: labkit scenario start {self.name}; then diagnose with\n"
            + "\n".join(kubectl_lines(self.spec))
        )

    def check(self) -> ScenarioCheck:
        grade = check(self.spec)
        if passed(grade):
            return ScenarioCheck(grade)
        hints = self.spec.hints
        hint = hints[min(self.failures, len(hints) - 1)] if hints else ""
        self.failures += 1
        return ScenarioCheck(grade, hint)

    def stop(self) -> str:
        cluster_scenarios.stop(self.spec)
        return f"scenario {self.name} stopped; the lab is back to its topology"

    def __str__(self) -> str:
        return f"{self.spec.title} ({self.name})\n{self.spec.story}"

    def _repr_html_(self) -> str:
        story = html.escape(self.spec.story).replace("\n", "<br>")
        return (
            f"<div class='labkit-scenario'><b>{html.escape(self.spec.title)}</b> "
            f"<code>{html.escape(self.name)}</code><p>{story}</p>"
            f"<pre>labkit scenario start {html.escape(self.name)}</pre></div>"
        )


def scenario(name: str) -> Scenario:
    return Scenario(cluster_scenarios.load(name))
