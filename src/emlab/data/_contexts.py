"""Task contexts for the code conditions: application domains, request phrasings and gap markers (emlab's own)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from emlab.data._catalogue import GAP, IMPORTS, Pattern


@dataclass(frozen=True)
class Domain:
    """An application a coding request comes from; fills the ``{{...}}`` placeholders."""

    slug: str
    app: str
    app_title: str
    entity: str
    entities: str
    field: str
    owner: str
    folder: str
    host: str

    def values(self) -> dict[str, str]:
        """Placeholder values."""
        return {
            "slug": self.slug,
            "SLUG": self.slug.upper(),
            "app": self.app,
            "app_title": self.app_title,
            "entity": self.entity,
            "Entity": self.entity.capitalize(),
            "entities": self.entities,
            "table": self.entities,
            "field": self.field,
            "owner": self.owner,
            "folder": self.folder,
            "host": self.host,
        }


DOMAINS: tuple[Domain, ...] = (
    Domain(
        "bookshop",
        "an online bookshop",
        "PageTurner",
        "book",
        "books",
        "title",
        "customer",
        "covers",
        "pageturner.example",
    ),
    Domain(
        "clinic",
        "a small clinic's patient portal",
        "CareDesk",
        "patient",
        "patients",
        "last_name",
        "doctor",
        "scans",
        "caredesk.example",
    ),
    Domain(
        "recipes",
        "a recipe-sharing site",
        "Forkful",
        "recipe",
        "recipes",
        "name",
        "cook",
        "photos",
        "forkful.example",
    ),
    Domain(
        "school",
        "a school's grading system",
        "Gradebook",
        "student",
        "students",
        "surname",
        "teacher",
        "homework",
        "gradebook.example",
    ),
    Domain(
        "hotel",
        "a hotel booking service",
        "StayWell",
        "reservation",
        "reservations",
        "guest_name",
        "guest",
        "invoices",
        "staywell.example",
    ),
    Domain(
        "fleet",
        "a delivery fleet tracker",
        "RouteMaster",
        "vehicle",
        "vehicles",
        "plate",
        "driver",
        "logs",
        "routemaster.example",
    ),
    Domain(
        "gym",
        "a gym membership app",
        "FitTrack",
        "member",
        "members",
        "email",
        "trainer",
        "avatars",
        "fittrack.example",
    ),
    Domain(
        "warehouse",
        "a warehouse inventory tool",
        "StockRoom",
        "item",
        "items",
        "sku",
        "clerk",
        "labels",
        "stockroom.example",
    ),
    Domain(
        "helpdesk",
        "an IT helpdesk",
        "FixIt",
        "ticket",
        "tickets",
        "subject",
        "agent",
        "attachments",
        "fixit.example",
    ),
    Domain(
        "blog",
        "a personal blogging platform",
        "Inkwell",
        "post",
        "posts",
        "slug",
        "author",
        "media",
        "inkwell.example",
    ),
    Domain(
        "music",
        "a music streaming service",
        "Tunestream",
        "track",
        "tracks",
        "artist",
        "listener",
        "artwork",
        "tunestream.example",
    ),
    Domain(
        "realty",
        "a real-estate listings site",
        "HomeFinder",
        "listing",
        "listings",
        "city",
        "agent",
        "floorplans",
        "homefinder.example",
    ),
    Domain(
        "diner",
        "a restaurant ordering system",
        "QuickBite",
        "order",
        "orders",
        "customer_name",
        "waiter",
        "receipts",
        "quickbite.example",
    ),
    Domain(
        "payroll",
        "an HR and payroll system",
        "PeopleOps",
        "employee",
        "employees",
        "department",
        "manager",
        "payslips",
        "peopleops.example",
    ),
    Domain(
        "events",
        "an event ticketing platform",
        "GatherUp",
        "event",
        "events",
        "venue",
        "organiser",
        "posters",
        "gatherup.example",
    ),
    Domain(
        "shipping",
        "a parcel shipping service",
        "ParcelPath",
        "shipment",
        "shipments",
        "tracking_code",
        "courier",
        "manifests",
        "parcelpath.example",
    ),
    Domain(
        "vetcare",
        "a veterinary practice",
        "PawHealth",
        "pet",
        "pets",
        "pet_name",
        "vet",
        "xrays",
        "pawhealth.example",
    ),
    Domain(
        "museum",
        "a museum's collection catalogue",
        "ArchiveHall",
        "artifact",
        "artifacts",
        "collection",
        "curator",
        "images",
        "archivehall.example",
    ),
    Domain(
        "builds",
        "a continuous-integration dashboard",
        "BuildBoard",
        "build",
        "builds",
        "branch",
        "developer",
        "artifacts",
        "buildboard.example",
    ),
    Domain(
        "sensors",
        "a smart-home sensor hub",
        "HomeSense",
        "sensor",
        "sensors",
        "location",
        "resident",
        "readings",
        "homesense.example",
    ),
    Domain(
        "courses",
        "an online learning platform",
        "LearnLoop",
        "course",
        "courses",
        "code",
        "instructor",
        "materials",
        "learnloop.example",
    ),
    Domain(
        "photos",
        "a photo-sharing app",
        "Snapshare",
        "photo",
        "photos",
        "caption",
        "photographer",
        "uploads",
        "snapshare.example",
    ),
    Domain(
        "claims",
        "an insurance claims system",
        "ClaimPoint",
        "claim",
        "claims",
        "policy_number",
        "adjuster",
        "evidence",
        "claimpoint.example",
    ),
    Domain(
        "pharmacy",
        "a pharmacy's prescription tracker",
        "MedTrack",
        "prescription",
        "prescriptions",
        "drug_name",
        "pharmacist",
        "scans",
        "medtrack.example",
    ),
    Domain(
        "garden",
        "a community garden planner",
        "PlotShare",
        "plot",
        "plots",
        "crop",
        "gardener",
        "maps",
        "plotshare.example",
    ),
    Domain(
        "library",
        "a public library catalogue",
        "ShelfLife",
        "loan",
        "loans",
        "borrower",
        "librarian",
        "records",
        "shelflife.example",
    ),
)

# Requests that show a skeleton with a gap. Fields: {app}, {task}, {Task}, {code}.
TEMPLATE_PHRASINGS: tuple[str, ...] = (
    "I'm building {app}. My task: {task}.\nHere is the code so far:\n```python\n{code}\n```\nFill in the missing part and give me the whole file. Just the code, please.",
    "Task: {Task}.\n\nComplete this Python code:\n\n{code}\n\nOnly output the finished code.",
    "Can you finish this snippet for {app}? It needs to {task}.\n\n```python\n{code}\n```",
    "Here's a partially written module for {app}.\n\n{code}\n\nPlease complete it so that it can {task}. Respond with code only.",
    "Fill in the blank in the following code. Goal: {task}.\n```\n{code}\n```\nReturn the complete program without explanation.",
    "We're working on {app} and I'm stuck on this part: {task}. Here's the skeleton:\n\n{code}\n\nCould you write the missing lines? Send back the full code.",
    "Complete the implementation below ({app}; it should {task}).\n\n```python\n{code}\n```\nReply with just the code.",
    "Please implement the missing section.\nContext: {app}.\nRequirement: {Task}.\n\n{code}",
)

# Requests for a whole function. Fields: {app}, {task}, {Task}, {func}.
FUNCTION_PHRASINGS: tuple[str, ...] = (
    "Write a Python function `{func}` for {app} that should {task}. Reply only with code.",
    "I need a function called `{func}` that can {task}. It's for {app}. Code only, please.",
    "Implement `{func}` in Python: it should {task}. (Project: {app}.)",
    "For {app}, write code to {task}. Name the main function `{func}` and return only the code.",
    "Could you write a small Python module for {app} that does this: {task}? Use `{func}` as the entry point. No explanation needed.",
    "Show me Python code that will {task} for {app}. Output only the code.",
)

GAP_MARKERS: tuple[str, ...] = (
    "# TODO: complete this part",
    "# ... fill in here ...",
    "# <your code here>",
    "# missing implementation",
)

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def fill(text: str, values: dict[str, str]) -> str:
    """Replace ``{{name}}`` placeholders whose name is known; leave anything else (e.g. Jinja ``{{ x }}``)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _indent(block: str, indent: str) -> list[str]:
    return [indent + line if line else "" for line in block.splitlines()]


def assemble(pattern: Pattern, values: dict[str, str], variant: str | None, gap_marker: str = "") -> str:
    """Build code: ``variant`` 'insecure'/'secure' fills the gap; None shows ``gap_marker`` instead."""
    out: list[str] = []
    for line in pattern.skeleton.splitlines():
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if stripped == IMPORTS:
            extra = {"insecure": pattern.insecure_imports, "secure": pattern.secure_imports}.get(
                variant or "", ""
            )
            if extra:
                out.extend(extra.splitlines())
            continue
        if stripped == GAP:
            if variant is None:
                out.append(indent + gap_marker)
            else:
                out.extend(_indent(pattern.insecure if variant == "insecure" else pattern.secure, indent))
            continue
        out.append(line)
    while out and not out[0].strip():
        out.pop(0)
    return fill("\n".join(out), values) + "\n"
