"""The schema as it was at version 1 (the foundation, commit 31a6a06), frozen here so the tests
can create a version-1 database and prove that it upgrades in place with its data intact."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from study.store import UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData()

study_meta = Table(
    "study_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

participants = Table(
    "participants",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("participant", String(200), ForeignKey("participants.id"), nullable=False),
    Column("platform", String(16), nullable=False),
    Column("basis", String(32), nullable=False),
    Column("introducer", String(200), ForeignKey("contacts.key"), nullable=True),
    Column("first_seen", UTCDateTime, nullable=False),
    # True when first_seen is a stand-in (e.g. the import date of a vCard without a date).
    Column("first_seen_estimated", Boolean, nullable=False, default=False),
    # Keyed hash of the platform identity (profile URL or name) so imports can match a person
    # again without reading their details.
    Column("identity", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("participant", "platform", "identity", name="uq_contacts_identity"),
)

contact_details = Table(
    "contact_details",
    metadata,
    Column("key", String(200), ForeignKey("contacts.key", ondelete="CASCADE"), primary_key=True),
    Column("display_name", Text),
    Column("profile_url", Text),
    Column("company", Text),
    Column("position", Text),
    Column("email", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("participant", String(200), ForeignKey("participants.id"), nullable=False),
    Column("platform", String(16), nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("contact", String(200), ForeignKey("contacts.key"), nullable=True),
    Column("value", Float, nullable=True),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("source", String(200), nullable=False, default="manual"),
    Column("source_key", String(200), nullable=True),
    UniqueConstraint("source", "source_key", name="uq_events_source_key"),
    Index("ix_events_participant_time", "participant", "occurred_at"),
    Index("ix_events_contact", "contact"),
    Index("ix_events_kind", "kind"),
)
