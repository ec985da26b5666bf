"""Every setting of the simulator, with the reasoning behind each default.

The defaults describe one participant who follows the acceptance rule on XING and LinkedIn for
two years, plus a comparison group of contacts accepted without personal contact (basis
``none``). They are plausible, not measured: docs/simulation.md gives the reasoning, and a
researcher overrides any of them in a TOML file (``[ties] weibull_shape = 0.9``).

Validation happens when a :class:`Params` is built: a probability outside 0..1, a negative
rate, a hazard ratio <= 0 or an unknown basis raise :class:`study.errors.ValidationError`
naming the field (``acceptance.known_with_message``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

from study.errors import ValidationError
from study.vocabulary import ACTIVITY_TYPES, CHANNELS, LEAD_CHANNELS

#: Bases the simulator generates (``unknown`` is what imports produce, not a modelled basis).
SIM_BASES = ("knows_personally", "met_in_person", "introduced", "none")
SIM_PLATFORMS = ("xing", "linkedin")
#: Reference levels of the hazard ratios (their ratio is 1 by definition).
REFERENCE = {"basis": "knows_personally", "platform": "xing", "with_message": False}
#: Introducer types of the vouch-check model.
INTRODUCER_TYPES = ("first_hand", "none", "collector")


def _prob(default: Any) -> Any:
    return field(default=default, metadata={"check": "prob"})


def _rate(default: Any) -> Any:
    return field(default=default, metadata={"check": "rate"})


def _positive(default: Any) -> Any:
    return field(default=default, metadata={"check": "positive"})


def _real(default: Any) -> Any:
    return field(default=default, metadata={"check": "real"})


def _dict(default: dict[str, float], check: str, keys: tuple[str, ...], *, full: bool) -> Any:
    return field(
        default_factory=lambda: dict(default),
        metadata={"check": check, "keys": keys, "full": full},
    )


class _Section:
    """A section validates itself when built; its TOML table is its class name in lower case."""

    def __post_init__(self) -> None:
        _check_section(self, type(self).__name__.lower())


@dataclass(frozen=True)
class Arrivals(_Section):
    """New contacts per month (before acceptance), requests and their messages."""

    #: Requests per month by basis, in the first months of building the network from zero.
    rate_per_month: dict[str, float] = _dict(
        {"knows_personally": 2.0, "met_in_person": 1.5, "none": 1.2},
        "rate",
        ("knows_personally", "met_in_person", "none"),
        full=True,
    )
    #: Introductions (basis c) per month: second-degree contacts are reached more slowly.
    introduced_per_month: float = _rate(0.6)
    #: The first months are busier (he searched for everyone he knew): the rate is multiplied
    #: by 1 + front_load * exp(-month / 4).
    front_load: float = _rate(1.5)
    #: Share of new contacts on XING (the German-speaking network the study started on).
    share_xing: float = _prob(0.6)
    #: Probability that the participant sent the request (else it came in), by basis.
    p_sent: dict[str, float] = _dict(
        {"knows_personally": 0.6, "met_in_person": 0.6, "introduced": 0.8, "none": 0.15},
        "prob",
        SIM_BASES,
        full=True,
    )
    #: A personal message with a request the participant sends / receives.
    p_message_sent: float = _prob(0.65)
    p_message_received: float = _prob(0.35)
    #: Participant-level spread (log-normal sd) of the arrival rate.
    participant_sd: float = _rate(0.2)


@dataclass(frozen=True)
class Acceptance(_Section):
    """Acceptance probability: a message raises it, a stranger (basis none) lowers it."""

    known_with_message: float = _prob(0.92)
    known_without_message: float = _prob(0.80)
    stranger_with_message: float = _prob(0.55)
    stranger_without_message: float = _prob(0.30)
    #: A request not accepted is declined with this probability, else withdrawn.
    p_declined: float = _prob(0.6)
    #: Mean days until a request is answered (exponential).
    response_days: float = _positive(4.0)


@dataclass(frozen=True)
class Ties(_Section):
    """Tie lifetime (days from request_accepted to its end, any reason): Weibull PH."""

    #: Shape < 1: the hazard falls with age; a tie that survives its first months tends to last.
    weibull_shape: float = _positive(0.8)
    #: Scale in days for the reference tie (knows_personally, XING, no message).
    weibull_scale_days: float = _positive(1400.0)
    #: Hazard ratios by basis (reference knows_personally).
    hr_basis: dict[str, float] = _dict(
        {"met_in_person": 1.3, "introduced": 1.6, "none": 3.0},
        "positive",
        ("met_in_person", "introduced", "none"),
        full=True,
    )
    #: Hazard ratio of a LinkedIn tie (reference XING).
    hr_linkedin: float = _positive(1.2)
    #: Hazard ratio of a tie whose request came with a personal message.
    hr_with_message: float = _positive(0.7)
    #: Participant frailty: log-normal sd multiplying every tie hazard of a participant.
    frailty_sd: float = _rate(0.3)
    #: How a tie ends at its lifetime T: removed (pruning) with these probabilities by basis,
    #: hidden with p_hidden, else it goes quiet (its final interaction at T).
    p_removed: dict[str, float] = _dict(
        {"knows_personally": 0.05, "met_in_person": 0.1, "introduced": 0.25, "none": 0.5},
        "prob",
        SIM_BASES,
        full=True,
    )
    p_hidden: float = _prob(0.1)
    #: Scenario (c): a quiet tie's interactions stop this many days (mean, exponential) before
    #: its true end T, its last interaction some time before it fades; 0: exactly at T.
    quiet_lag_days: float = _rate(0.0)
    #: Scenario: removals are seen only through exports every so many days and logged at the
    #: midpoint between the two exports (as the importers do); 0: logged when they happen.
    removal_seen_every_days: float = _rate(0.0)


@dataclass(frozen=True)
class Archive(_Section):
    """Scenario (a): the study starts from a platform archive of connections made before it.

    ``connections`` ties were made over the ``years`` before the study's first day; each has a
    lifetime from its connection date like any tie (basis drawn by the direct arrival rates,
    platform, message and frailty as for new ties). Those removed before the study are not in
    the archive; those hidden or gone quiet before it are (the platform still lists them) but
    never interact again. No interaction before the study's first day is logged. A share
    ``share_undated`` are XING vCards: no connection date, ``first_seen`` is the study's first
    day and marked estimated."""

    connections: int = field(default=0, metadata={"check": "count"})
    years: float = _positive(6.0)
    share_undated: float = _prob(0.2)


@dataclass(frozen=True)
class Interactions(_Section):
    """Interactions of a living tie: Poisson per year by basis, both directions."""

    rate_per_year: dict[str, float] = _dict(
        {"knows_personally": 8.0, "met_in_person": 5.0, "introduced": 3.0, "none": 1.5},
        "rate",
        SIM_BASES,
        full=True,
    )
    #: Share of interactions the participant starts.
    p_out: float = _prob(0.5)
    #: A living tie interacts at least this often (days), so the W = 365 definition of going
    #: quiet recovers the drawn lifetime exactly; 0: no keep-alive (scenario (b): living weak
    #: ties may go longer than W without an interaction).
    keepalive_days: float = _rate(300.0)
    channel_weights: dict[str, float] = _dict(
        {
            "message": 4,
            "call": 1.5,
            "meeting": 1,
            "event": 0.5,
            "comment": 2,
            "reaction": 3,
            "recommendation": 0.2,
            "endorsement": 0.8,
        },
        "rate",
        CHANNELS,
        full=False,
    )


@dataclass(frozen=True)
class Introductions(_Section):
    """Second-degree contacts: introducers, contact collectors and vouch checks."""

    #: Probability that an introducer is a contact collector (500+ connections), by basis.
    p_collector_first_hand: float = _prob(0.15)
    p_collector_none: float = _prob(0.6)
    #: Median connections of a collector / of anyone else (log-normal, sd 0.4 / 0.6).
    collector_connections: float = _positive(900.0)
    other_connections: float = _positive(180.0)
    #: Share of introductions followed by a vouch check (the phone call before confirming).
    p_vouch_check: float = _prob(0.85)
    #: Probability a vouch check comes back "known", by introducer type.
    p_known: dict[str, float] = _dict(
        {"first_hand": 0.85, "none": 0.5, "collector": 0.2},
        "prob",
        INTRODUCER_TYPES,
        full=True,
    )


@dataclass(frozen=True)
class Leads(_Section):
    """Job leads: a Poisson rate proportional to live reliable ties, and their stages."""

    #: Leads per live reliable tie per month (through that contact).
    rate_per_reliable_tie: float = _rate(0.004)
    #: Leads per month not through a contact (postings, cold recruiter mail).
    rate_other: float = _rate(0.15)
    #: Participant-level spread (log-normal sd) of the lead rate.
    participant_sd: float = _rate(0.3)
    #: Probability of moving on from each stage (else the lead closes).
    p_advance: dict[str, float] = _dict(
        {"lead": 0.6, "applied": 0.45, "interview": 0.4, "offer": 0.6},
        "prob",
        ("lead", "applied", "interview", "offer"),
        full=True,
    )
    #: A lead that stops is withdrawn with this probability, else rejected.
    p_withdrawn: float = _prob(0.3)
    #: Mean days between stages (exponential).
    stage_days: float = _positive(12.0)
    #: Channel mix of leads through a contact / without one.
    channels_contact: dict[str, float] = _dict(
        {"referral": 0.5, "recruiter": 0.2, "project_inquiry": 0.3},
        "rate",
        LEAD_CHANNELS,
        full=False,
    )
    channels_other: dict[str, float] = _dict(
        {"posting": 0.6, "recruiter": 0.3, "other": 0.1}, "rate", LEAD_CHANNELS, full=False
    )


@dataclass(frozen=True)
class Views(_Section):
    """Weekly profile page views: negative binomial with trend, season and an intervention."""

    base_per_week_xing: float = _positive(25.0)
    base_per_week_linkedin: float = _positive(15.0)
    #: Participant-level spread (normal sd on the log scale) of the views level.
    participant_sd: float = _rate(0.3)
    #: Log-linear trend per year.
    trend_per_year: float = _real(0.05)
    #: Yearly seasonality: amplitude on the log scale, peak on this day of the year (January:
    #: new year, new job; the trough falls in the summer holidays).
    season_amplitude: float = _rate(0.15)
    season_peak_day: float = field(default=20.0, metadata={"check": "day"})
    #: The intervention (profile completed): rate ratio of the level change and change of the
    #: log-linear slope per year after it.
    level_rr: float = _positive(1.8)
    slope_change_per_year: float = _real(0.1)
    #: Month (1-based) of the study in which the profile is completed.
    intervention_month: int = field(default=3, metadata={"check": "month"})
    #: Negative-binomial dispersion (variance = mu + dispersion * mu^2; 0 = Poisson).
    dispersion: float = _rate(0.1)
    #: Search appearances per profile view (same model, scaled).
    search_per_view: float = _rate(2.5)
    #: How the profile views are entered: ``week`` (Monday..Sunday, as the platforms show
    #: them) or ``month`` (one count per calendar month, as a monthly export gives them).
    entry: str = field(default="week", metadata={"check": "choice", "choices": ("week", "month")})
    #: Probability that a platform's weekly count of views is not entered (an export missed).
    p_missing: float = _prob(0.0)
    #: Post impressions per week: a base plus this many per post or article that week.
    impressions_base: float = _rate(40.0)
    impressions_per_post: float = _rate(250.0)


@dataclass(frozen=True)
class Reputation(_Section):
    """Followers and the own-name search rank, moved by activity."""

    followers_per_month: float = _rate(2.0)
    followers_per_activity: float = _rate(1.5)
    #: Own-name web search rank at the start and its decay per activity (log scale).
    rank_start: float = field(default=40.0, metadata={"check": "rank"})
    rank_decay_per_activity: float = _rate(0.02)


@dataclass(frozen=True)
class Activity(_Section):
    """The participant's own activity per month, by type."""

    rate_per_month: dict[str, float] = _dict(
        {
            "group_post": 1.5,
            "comment": 2.0,
            "article": 0.25,
            "talk": 0.1,
            "group_moderation": 0.2,
            "event_organized": 0.08,
        },
        "rate",
        ACTIVITY_TYPES,
        full=False,
    )
    share_xing: float = _prob(0.55)


@dataclass(frozen=True)
class Following(_Section):
    """Follows between the participant and contacts (LinkedIn and XING)."""

    p_follow: float = _prob(0.25)
    p_unfollow: float = _prob(0.3)


@dataclass(frozen=True)
class Params:
    """All settings of the simulator; nested sections as in the TOML file."""

    arrivals: Arrivals = field(default_factory=Arrivals)
    acceptance: Acceptance = field(default_factory=Acceptance)
    ties: Ties = field(default_factory=Ties)
    archive: Archive = field(default_factory=Archive)
    interactions: Interactions = field(default_factory=Interactions)
    introductions: Introductions = field(default_factory=Introductions)
    leads: Leads = field(default_factory=Leads)
    views: Views = field(default_factory=Views)
    reputation: Reputation = field(default_factory=Reputation)
    activity: Activity = field(default_factory=Activity)
    following: Following = field(default_factory=Following)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            section = getattr(self, f.name)
            if not isinstance(section, f.default_factory):  # type: ignore[arg-type]
                raise ValidationError(f"must be a {f.default_factory.__name__} section", f.name)  # type: ignore[union-attr]
            _check_section(section, f.name)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "params") -> Params:
        """Params from nested dicts (as read from TOML); unknown keys are errors."""
        sections: dict[str, Any] = {}
        names = {f.name: f for f in dataclasses.fields(cls)}
        for name, values in data.items():
            if name not in names:
                raise ValidationError(
                    f"{where}: not a section (one of: {', '.join(names)})", str(name)
                )
            if not isinstance(values, dict):
                raise ValidationError(f"{where}: must be a table [{name}]", name)
            sec_cls = names[name].default_factory
            sec_fields = {f.name: f for f in dataclasses.fields(sec_cls)}  # type: ignore[arg-type]
            for key, value in values.items():
                if key not in sec_fields:
                    raise ValidationError(
                        f"{where}: not a setting of [{name}] (its settings: {', '.join(sec_fields)})",
                        f"{name}.{key}",
                    )
                if isinstance(value, dict) and sec_fields[key].metadata.get("full"):
                    values = {**values, key: {**getattr(sec_cls(), key), **value}}  # type: ignore[misc, operator]
            try:
                sections[name] = sec_cls(**values)  # type: ignore[misc, operator]
            except ValidationError as exc:
                raise ValidationError(f"{where}: {exc.reason}", exc.field) from None
        try:
            return cls(**sections)
        except ValidationError as exc:
            raise ValidationError(f"{where}: {exc.reason}", exc.field) from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> Params:
        """Read settings from a TOML file; anything not given keeps its default."""
        import tomllib
        from pathlib import Path

        if not Path(path).is_file():  # a folder, a device (/dev/zero would never end)
            raise ValidationError(f"{path}: no such file", "params")
        if Path(path).stat().st_size > 1 << 20:
            raise ValidationError(f"{path}: larger than 1 MiB; not a settings file", "params")
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ValidationError(f"{path}: no such file", "params") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(f"{path}: not valid TOML ({exc})", "params") from None
        return cls.from_dict(data, where=str(path))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, path: str, value: Any) -> Params:
        """A copy with one setting changed, e.g. ``replace("ties.hr_basis.none", 0.5)``."""
        data = self.to_dict()
        parts = path.split(".")
        node = data
        for p in parts[:-1]:
            if not isinstance(node, dict) or p not in node:
                raise ValidationError("not a setting", path)
            node = node[p]
        if not isinstance(node, dict) or parts[-1] not in node and len(parts) < 3:
            raise ValidationError("not a setting", path)
        node[parts[-1]] = value
        return Params.from_dict(data)


def _check_section(section: Any, name: str) -> None:
    for f in dataclasses.fields(section):
        check = f.metadata.get("check")
        where = f"{name}.{f.name}"
        value = getattr(section, f.name)
        if check == "choice":
            choices = f.metadata["choices"]
            if value not in choices:
                raise ValidationError(f"{value!r} is not one of {', '.join(choices)}", where)
            continue
        if "keys" in f.metadata:
            if not isinstance(value, dict):
                raise ValidationError("must be a table of values", where)
            keys = f.metadata["keys"]
            for k, v in value.items():
                if k not in keys:
                    raise ValidationError(
                        f"{k!r} is not allowed (one of: {', '.join(keys)})", where
                    )
                _check_value(v, check, f"{where}.{k}")
            if f.metadata.get("full"):
                missing = [k for k in keys if k not in value]
                if missing:
                    raise ValidationError(f"missing {', '.join(missing)}", where)
            elif check == "rate" and not any(v > 0 for v in value.values()):
                raise ValidationError("needs at least one positive weight", where)
        else:
            _check_value(value, check, where)


def _check_value(value: Any, check: str | None, where: str) -> None:
    if check == "month":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(f"{value!r} is not a month number (1, 2, ...)", where)
        return
    if check == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValidationError(f"{value!r} is not a count (0, 1, 2, ...)", where)
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{value!r} is not a number", where)
    if not math.isfinite(value):
        raise ValidationError(f"{value!r} is not a finite number", where)
    if check == "prob" and not 0 <= value <= 1:
        raise ValidationError(f"{value!r} is not a probability (0..1)", where)
    if check == "rate" and value < 0:
        raise ValidationError(f"{value!r} is negative (must be >= 0)", where)
    if check == "positive" and value <= 0:
        raise ValidationError(f"{value!r} must be > 0", where)
    if check == "day" and not 1 <= value <= 366:
        raise ValidationError(f"{value!r} is not a day of the year (1..366)", where)
    if check == "rank" and value < 1:
        raise ValidationError(f"{value!r} is not a rank (>= 1)", where)
