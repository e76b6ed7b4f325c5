"""Deterministic sample data: one account, its sites, and their projects and spaces.

Every id, name and timestamp is derived from fixed tables and the record's index, so
two builds with the same counts are equal. Names mix scripts (Latin with accents,
Greek, Cyrillic, CJK, Arabic), emoji, quotes and markup-like text, so that clients
get tested on escaping and Unicode.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from lib.sandbox.issues import IssueTable, seed_of, spread_issue_counts

# Namespace of every uuid5 in the data, so cloud ids and account ids never change.
_NAMESPACE = uuid.UUID("5d1b3f2e-9a4c-4c1e-8f7a-2b6d0c9e4a11")
_EPOCH = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

JIRA = "jira"
CONFLUENCE = "confluence"


def stable_uuid(*parts: str) -> str:
    """Return a UUID derived from the parts, the same on every run."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def timestamp(minutes: int) -> str:
    """Return an ISO 8601 UTC time with milliseconds, `minutes` after the data epoch."""
    moment = _EPOCH + timedelta(minutes=minutes, milliseconds=(minutes * 37) % 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Person:
    """An Atlassian account; `locale` is a BCP 47 tag such as "en-GB"."""

    account_id: str
    display_name: str
    email: str
    nickname: str
    time_zone: str
    locale: str

    @property
    def personal_space_key(self) -> str:
        """Return the key of the person's personal space: "~" and the bare id."""
        return "~" + self.account_id.replace(":", "").replace("-", "")


@dataclass(frozen=True)
class Project:
    """A Jira project; `uuid` is set only for team-managed (simplified) projects."""

    id: int
    key: str
    name: str
    type_key: str
    simplified: bool
    is_private: bool
    avatar_id: int
    lead: Person
    uuid: str | None


# Body templates of Confluence pages, which page_bodies defines.
PLAIN_BODY = "plain"
RICH_BODY = "rich"
HOSTILE_BODY = "hostile"


@dataclass(frozen=True)
class Page:
    """A Confluence page; the space homepage has no parent.

    `body_kind` selects the body template: PLAIN_BODY, RICH_BODY or HOSTILE_BODY.
    """

    id: int
    space_id: int
    title: str
    parent_id: int | None
    position: int
    author: Person
    created_at: str
    version_number: int
    version_created_at: str
    body_kind: str = PLAIN_BODY


@dataclass(frozen=True)
class Space:
    """A Confluence space; its first page is the homepage."""

    id: int
    key: str
    name: str
    type: str
    status: str
    owner: Person
    created_at: str
    pages: tuple[Page, ...]

    @property
    def homepage(self) -> Page:
        return self.pages[0]


@dataclass(frozen=True)
class Site:
    """An Atlassian Cloud site with the products it has.

    `issues` contains the Jira issues of `projects`, in the same project order.
    """

    cloud_id: str
    slug: str
    name: str
    products: frozenset[str]
    avatar: str
    projects: tuple[Project, ...] = ()
    spaces: tuple[Space, ...] = ()
    issues: IssueTable | None = field(default=None, compare=False, repr=False)

    def has(self, product: str) -> bool:
        return product in self.products

    def url(self, base_url: str) -> str:
        """Return the site's URL on the sandbox, which serves small pages there."""
        return f"{base_url}/sites/{quote(self.slug)}"


@dataclass
class Dataset:
    """All sample data of one sandbox, with lookups by cloud id, slug and page id."""

    account: Person
    people: tuple[Person, ...]
    sites: tuple[Site, ...]
    _by_cloud_id: dict[str, Site] = field(init=False, repr=False)
    _by_slug: dict[str, Site] = field(init=False, repr=False)
    _pages: dict[tuple[str, int], tuple[Space, Page]] = field(init=False, repr=False)
    _spaces: dict[tuple[str, int], Space] = field(init=False, repr=False)
    _projects: dict[tuple[str, str], Project] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_cloud_id = {site.cloud_id: site for site in self.sites}
        self._by_slug = {site.slug: site for site in self.sites}
        self._spaces = {
            (site.cloud_id, space.id): space
            for site in self.sites
            for space in site.spaces
        }
        self._projects = {
            (site.cloud_id, project.key): project
            for site in self.sites
            for project in site.projects
        }
        self._pages = {
            (site.cloud_id, page.id): (space, page)
            for site in self.sites
            for space in site.spaces
            for page in space.pages
        }

    def site_by_cloud_id(self, cloud_id: str) -> Site | None:
        return self._by_cloud_id.get(cloud_id)

    def site_by_slug(self, slug: str) -> Site | None:
        return self._by_slug.get(slug)

    def find_space(self, site: Site, space_id: int) -> Space | None:
        return self._spaces.get((site.cloud_id, space_id))

    def find_project(self, site: Site, key: str) -> Project | None:
        return self._projects.get((site.cloud_id, key))

    def find_page(self, site: Site, page_id: int) -> tuple[Space, Page] | None:
        return self._pages.get((site.cloud_id, page_id))


def _person(slug: str, name: str, nickname: str, zone: str, locale: str) -> Person:
    return Person(
        account_id="712020:" + stable_uuid("person", slug),
        display_name=name,
        email=f"{slug}@example.test",
        nickname=nickname,
        time_zone=zone,
        locale=locale,
    )


PRACTICE_USER = _person(
    "practice.user", "Zoë Practice", "zoe.practice", "Europe/Berlin", "en-GB"
)
COLLEAGUES = (
    _person("amelie.dubois", "Amélie Dubois", "amelie", "Europe/Paris", "fr-FR"),
    _person(
        "dimitris.p", "Δημήτρης Παπαδόπουλος", "dimitris", "Europe/Athens", "el-GR"
    ),
    _person("natalia.s", "Наталья Смирнова", "natalia", "Europe/Moscow", "ru-RU"),
    _person("wang.fang", "王芳", "wangfang", "Asia/Shanghai", "zh-CN"),
    _person("ahmed.mansour", "أحمد منصور", "ahmed", "Asia/Dubai", "ar-AE"),
    _person("sean.oconnor", "Seán O'Connor", "sean", "Europe/Dublin", "en-IE"),
)
PEOPLE = (PRACTICE_USER, *COLLEAGUES)

# (key, name, project type) of the fixed projects at the start of the main site.
_MAIN_PROJECTS = (
    ("CAFE", "Café Crème Roadmap", "software"),
    ("ELL", "Ελληνικά Έργα", "business"),
    ("SEVER", "Проект «Север»", "software"),
    ("TOKYO", "東京オフィス開発", "software"),
    ("WAHA", "مشروع الواحة", "service_desk"),
    ("ROCKET", "Launch 🚀 Tracker", "software"),
    ("MARKUP", '<b>Bold</b> & "quoted"', "business"),
    ("OBRIEN", "O'Brien's Backlog", "software"),
)
_GERMAN_PROJECTS = (
    ("TRAM", "Straßenbahn-Planung", "software"),
    ("OEFF", "Öffentlichkeitsarbeit", "business"),
    ("BUERO", "Büro München", "business"),
    ("KD", "Kundendienst", "service_desk"),
    ("ZUE", "Zürich-Erweiterung", "software"),
    ("AQ", "Ärztliche Qualität", "business"),
)
_JIRA_ONLY_PROJECTS = (
    ("OPS", "Ops Runbooks", "software"),
    ("INC", "Incident Desk", "service_desk"),
    ("MKT", "Marketing Calendar", "business"),
    ("MOB", "Mobile App", "software"),
    ("DATA", "Data Platform", "software"),
)
# Word lists for generated names. The first two letters of each word differ within
# a list, so the generated keys are unique within one cycle through the lists.
_ADJECTIVES = (
    "Atlas", "Beacon", "Cobalt", "Delta", "Ember", "Falcon",
    "Granite", "Harbor", "Indigo", "Juniper", "Kestrel", "Lumen",
)  # fmt: skip
_PROJECT_NOUNS = (
    "Platform", "Mobile", "Website", "Billing", "Search", "Analytics",
    "Support", "Onboarding", "Payments", "Reports", "Infra", "Design",
)  # fmt: skip
_SPACE_TOPICS = (
    "Wiki", "Notes", "Guides", "Meetings", "Planning", "Research",
    "Ops", "Handbook", "Docs", "Lab", "Ideas", "Templates",
)  # fmt: skip
_TYPE_CYCLE = ("software", "software", "business", "software", "service_desk")

# (key, name, space type, child page count) of the fixed spaces of the main site.
# A count of None picks 1 to 5 child pages from the space's index. The handbook's
# count is the handbook_pages switch.
HANDBOOK_KEY = "ENG"
_MAIN_SPACES = (
    (HANDBOOK_KEY, "Engineering Handbook", "global", None),
    ("EQUIPE", "Équipe Produit", "global", None),
    ("ELL", "Ελληνική Ομάδα", "global", None),
    ("SALES", "Отдел продаж", "global", None),
    ("DESIGN", "設計チーム", "global", None),
    ("SUPPORT", "فريق الدعم", "global", None),
    ("LAUNCH", "Launch 🚀 Notes", "global", None),
    ("MARKUP", '<b>Bold</b> & "quoted"', "global", None),
    ("RITUALS", "Team Rituals", "collaboration", None),
    ("HELP", "Help Center Articles", "knowledge_base", None),
)
_GERMAN_SPACES = (
    ("WILLKOMMEN", "Willkommen", "global", None),
    ("TECHNIK", "Technik-Wiki", "global", None),
    ("PFLEGE", "Ärzte & Pflege", "global", None),
    ("ARCHIV", "Archiv 2019", "global", None),
)
# Issue counts of the projects of the two small sites, in project order.
_GERMAN_ISSUE_COUNTS = (18, 7, 12, 25, 3, 0)
_JIRA_ONLY_ISSUE_COUNTS = (30, 12, 9, 40, 15)
# Child pages cycle through these titles. _CHILD_BODY_KINDS maps a position in
# the cycle to the body kind of the page; other positions get PLAIN_BODY.
_CHILD_TITLES = (
    "Getting started",
    "Meeting notes 2025-02-03",
    "Runbook: restart the “widget” service",
    "Décisions & suivis",
    "Roadmap 2026 🚀",
    "<script>alert('x')</script> is plain text",
    "Многоязычная страница — 多言語ページ — صفحة",
    "FAQ",
)
_CHILD_BODY_KINDS = {0: RICH_BODY, 2: RICH_BODY, 5: HOSTILE_BODY}


def _make_project(index: int, key: str, name: str, type_key: str, site: str):
    simplified = index % 2 == 0
    return Project(
        id=10000 + index,
        key=key,
        name=name,
        type_key=type_key,
        simplified=simplified,
        is_private=index % 17 == 5,
        avatar_id=10400 + (index * 7) % 26,
        lead=PEOPLE[index % len(PEOPLE)],
        uuid=stable_uuid("project", site, key) if simplified else None,
    )


def _generated_project_specs(count: int) -> list[tuple[str, str, str]]:
    specs = []
    for index in range(count):
        adjective = _ADJECTIVES[index % len(_ADJECTIVES)]
        noun = _PROJECT_NOUNS[(index // len(_ADJECTIVES)) % len(_PROJECT_NOUNS)]
        cycle = index // (len(_ADJECTIVES) * len(_PROJECT_NOUNS))
        suffix = str(cycle + 1) if cycle else ""
        key = (adjective[:2] + noun[:2]).upper() + suffix
        name = f"{adjective} {noun}" + (f" {suffix}" if suffix else "")
        specs.append((key, name, _TYPE_CYCLE[index % len(_TYPE_CYCLE)]))
    return specs


def _build_projects(specs, site: str) -> tuple[Project, ...]:
    return tuple(
        _make_project(index, key, name, type_key, site)
        for index, (key, name, type_key) in enumerate(specs)
    )


def _build_pages(
    space_id: int, index: int, name: str, personal: bool, children: int | None
):
    if children is None:
        children = (index * 7) % 5 + 1
    author = PEOPLE[index % len(PEOPLE)]
    created = index * 1440 + 60
    homepage = Page(
        id=space_id + 96,
        space_id=space_id,
        title="Overview" if personal else name,
        parent_id=None,
        position=(index * 137) % 1000,
        author=author,
        created_at=timestamp(created),
        version_number=1,
        version_created_at=timestamp(created),
        body_kind=RICH_BODY,
    )
    pages = [homepage]
    for child in range(children):
        title = _CHILD_TITLES[child % len(_CHILD_TITLES)]
        if child >= len(_CHILD_TITLES):
            title += f" ({child // len(_CHILD_TITLES) + 1})"
        page_id = space_id + 97 + child
        pages.append(
            Page(
                id=page_id,
                space_id=space_id,
                title=title,
                parent_id=homepage.id,
                position=(page_id * 53) % 1000,
                author=PEOPLE[(index + child) % len(PEOPLE)],
                created_at=timestamp(created + 30 * (child + 1)),
                version_number=1 + page_id % 4,
                version_created_at=timestamp(created + 30 * (child + 1) + 2880),
                body_kind=_CHILD_BODY_KINDS.get(child % len(_CHILD_TITLES), PLAIN_BODY),
            )
        )
    return tuple(pages)


def _make_space(index: int, spec: tuple, owner: Person) -> Space:
    key, name, space_type, page_count, status = spec
    space_id = 98304 + index * 32771
    personal = space_type == "personal"
    return Space(
        id=space_id,
        key=key,
        name=name,
        type=space_type,
        status=status,
        owner=owner,
        created_at=timestamp(index * 1440),
        pages=_build_pages(space_id, index, name, personal, page_count),
    )


def _personal_spec(person: Person, archived: bool) -> tuple:
    status = "archived" if archived else "current"
    return (person.personal_space_key, person.display_name, "personal", 2, status)


def _main_space_specs(count: int, handbook_pages: int) -> list[tuple[tuple, Person]]:
    """Return (spec, owner) pairs: fixed, generated and personal spaces mixed."""
    shared = [
        (key, name, kind, handbook_pages if key == HANDBOOK_KEY else pages, "current")
        for key, name, kind, pages in _MAIN_SPACES
    ]
    generated_count = max(0, count - len(_MAIN_SPACES) - len(PEOPLE))
    for index in range(generated_count):
        adjective = _ADJECTIVES[index % len(_ADJECTIVES)]
        topic = _SPACE_TOPICS[(index // len(_ADJECTIVES)) % len(_SPACE_TOPICS)]
        cycle = index // (len(_ADJECTIVES) * len(_SPACE_TOPICS))
        suffix = str(cycle + 1) if cycle else ""
        key = (adjective[:2] + topic[:2]).upper() + suffix
        name = f"{adjective} {topic}" + (f" {suffix}" if suffix else "")
        status = "archived" if index % 9 == 8 else "current"
        shared.append((key, name, "global", None, status))

    # The last colleague's personal space is archived, as happens when someone
    # leaves. Personal spaces are spread between the others so that paging by id
    # meets both kinds.
    personal = [
        (_personal_spec(person, person is PEOPLE[-1]), person) for person in PEOPLE
    ]
    mixed = [personal.pop(0)]
    for position, spec in enumerate(shared):
        mixed.append((spec, PRACTICE_USER))
        if position % 8 == 7 and personal:
            mixed.append(personal.pop(0))
    mixed.extend(personal)
    return mixed[:count]


def _build_spaces(pairs: list[tuple[tuple, Person]]) -> tuple[Space, ...]:
    return tuple(
        _make_space(index, spec, owner) for index, (spec, owner) in enumerate(pairs)
    )


def _german_space_pairs() -> list[tuple[tuple, Person]]:
    pairs = [(_personal_spec(PRACTICE_USER, False), PRACTICE_USER)]
    for key, name, kind, pages in _GERMAN_SPACES:
        status = "archived" if key == "ARCHIV" else "current"
        pairs.append(((key, name, kind, pages, status), PRACTICE_USER))
    return pairs


def _issue_table(site_slug: str, projects, counts) -> IssueTable:
    return IssueTable(
        seed=seed_of(site_slug),
        project_keys=[project.key for project in projects],
        counts=counts,
        people_count=len(PEOPLE),
    )


def _site(slug, name, avatar, products, projects, spaces, issue_counts) -> Site:
    return Site(
        cloud_id=stable_uuid("site", slug),
        slug=slug,
        name=name,
        products=frozenset(products),
        avatar=avatar,
        projects=projects,
        spaces=spaces,
        issues=_issue_table(slug, projects, issue_counts),
    )


def build_dataset(
    project_count: int = 120,
    space_count: int = 60,
    issue_count: int = 2000,
    handbook_pages: int = 40,
) -> Dataset:
    """Build the sample data; the arguments size the main site "practice-cloud".

    Issue columns are built later, on the first request that needs them.
    """
    fixed = list(_MAIN_PROJECTS)
    main_specs = fixed + _generated_project_specs(max(0, project_count - len(fixed)))
    main_projects = _build_projects(main_specs[:project_count], "practice-cloud")
    german_projects = _build_projects(_GERMAN_PROJECTS, "übungsseite")
    sites = (
        _site(
            "practice-cloud",
            "practice-cloud",
            "flag",
            (JIRA, CONFLUENCE),
            main_projects,
            _build_spaces(_main_space_specs(space_count, handbook_pages)),
            spread_issue_counts(issue_count, len(main_projects)),
        ),
        _site(
            "übungsseite",
            "Übungsseite München",
            "jersey",
            (JIRA, CONFLUENCE),
            german_projects,
            _build_spaces(_german_space_pairs()),
            _GERMAN_ISSUE_COUNTS,
        ),
        _site(
            "jira-only",
            "jira-only",
            "triangle",
            (JIRA,),
            _build_projects(_JIRA_ONLY_PROJECTS, "jira-only"),
            (),
            _JIRA_ONLY_ISSUE_COUNTS,
        ),
    )
    return Dataset(account=PRACTICE_USER, people=PEOPLE, sites=sites)
