"""A subset of Jira Query Language (JQL): parse a query and run it on an IssueTable.

Supported:

- Fields: project, key (issuekey), id, status, statusCategory, issuetype (type),
  priority, assignee, reporter, creator, labels, summary, description, text,
  created and updated.
- Operators: =, !=, in, not in, is, is not, ~ and !~, and for dates <, <=, > and
  >=.
- Values: words, "double" or 'single' quoted strings, EMPTY or NULL, and the
  functions currentUser() and now(). Dates are yyyy-MM-dd or yyyy/MM/dd, with an
  optional HH:mm, or a relative period such as -30d or -2w.
- AND, OR and NOT (also &&, || and !) with parentheses. AND binds tighter.
- ORDER BY with up to 7 fields, each ASC (the default) or DESC.

`~` matches whole words, case-insensitively; a trailing * matches a word prefix.
As in Jira, `!=` and `not in` never match an issue whose field is empty.
Errors raise JqlError with messages shaped like Jira's ErrorCollection entries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lib.sandbox import adf
from lib.sandbox.issues import (
    ISSUE_TYPES,
    LABEL_SETS,
    PRIORITIES,
    STATUS_CATEGORIES,
    STATUSES,
    SUBTASK,
    SUMMARIES,
    USER_ZONE,
    IssueTable,
)

MAX_ORDER_FIELDS = 7
UNBOUNDED_MESSAGE = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to "
    "your query."
)

Predicate = Callable[[int], bool]


class JqlError(ValueError):
    """A query that Jira rejects with 400. `messages` are the errorMessages."""

    def __init__(self, *messages: str):
        super().__init__(messages[0])
        self.messages = list(messages)


# Tokens

_OPERATORS = ("!=", "!~", ">=", "<=", "&&", "||", "=", "~", ">", "<", "!")
_WORD_END = set(" \t\r\n()\"',=!~<>&|")


@dataclass(frozen=True)
class Token:
    """A lexical token. `kind` is word, string, op, (, ), comma or end."""

    kind: str
    text: str
    position: int

    def is_word(self, *names: str) -> bool:
        return self.kind == "word" and self.text.casefold() in names


def _location(query: str, position: int) -> str:
    line = query.count("\n", 0, position) + 1
    character = position - (query.rfind("\n", 0, position) + 1) + 1
    return f"(line {line}, character {character})"


def _syntax_error(query: str, position: int, problem: str) -> JqlError:
    return JqlError(f"Error in the JQL Query: {problem} {_location(query, position)}")


def tokenize(query: str) -> list[Token]:
    """Split a query into tokens, or raise JqlError on an unclosed quote."""
    tokens = []
    position = 0
    while position < len(query):
        char = query[position]
        if char.isspace():
            position += 1
        elif char in "(),":
            kind = "comma" if char == "," else char
            tokens.append(Token(kind, char, position))
            position += 1
        elif char in "\"'":
            token, position = _read_string(query, position)
            tokens.append(token)
        elif operator := next(
            (op for op in _OPERATORS if query.startswith(op, position)), None
        ):
            tokens.append(Token("op", operator, position))
            position += len(operator)
        elif char in "&|":
            raise _syntax_error(
                query,
                position,
                f"The character '{char}' is a reserved JQL character. Put it in "
                "quotes to use it in a value.",
            )
        else:
            end = position
            while end < len(query) and query[end] not in _WORD_END:
                end += 1
            tokens.append(Token("word", query[position:end], position))
            position = end
    tokens.append(Token("end", "", len(query)))
    return tokens


def _read_string(query: str, start: int) -> tuple[Token, int]:
    quote = query[start]
    position = start + 1
    chars = []
    while position < len(query):
        char = query[position]
        if char == "\\" and position + 1 < len(query):
            chars.append(query[position + 1])
            position += 2
            continue
        if char == quote:
            return Token("string", "".join(chars), start), position + 1
        chars.append(char)
        position += 1
    raise _syntax_error(
        query,
        start,
        f"The quoted string '{''.join(chars)}' has not been completed.",
    )


# Syntax tree


@dataclass(frozen=True)
class Value:
    """A clause value. `kind` is literal, empty or function."""

    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class Clause:
    field: str
    operator: str
    values: tuple[Value, ...]
    position: int


@dataclass(frozen=True)
class Junction:
    """Clauses joined by `operator`, which is "and" or "or"."""

    operator: str
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Negation:
    item: Any


@dataclass(frozen=True)
class OrderField:
    field: str
    descending: bool
    position: int


@dataclass(frozen=True)
class Query:
    """A parsed query. `where` is None when the query has no search restriction."""

    where: Clause | Junction | Negation | None
    order: tuple[OrderField, ...] = field(default=())


class _Parser:
    def __init__(self, query: str):
        self.query = query
        self.tokens = tokenize(query)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, problem: str) -> JqlError:
        """Return the error for an unexpected token, naming what was expected."""
        token = self.token
        if token.kind == "end":
            return JqlError(
                f"Error in the JQL Query: {problem} before the end of the query."
            )
        return _syntax_error(
            self.query, token.position, f"{problem} but got '{token.text}'."
        )

    def parse(self) -> Query:
        where = None
        if not self.token.is_word("order"):
            where = self.parse_or()
        order = ()
        if self.token.is_word("order"):
            order = self.parse_order_by()
        if self.token.kind != "end":
            raise self.fail("Expecting either 'OR' or 'AND'")
        return Query(where, order)

    def parse_or(self):
        items = [self.parse_and()]
        while self.token.is_word("or") or self.token.text == "||":
            self.advance()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Junction("or", tuple(items))

    def parse_and(self):
        items = [self.parse_not()]
        while self.token.is_word("and") or self.token.text == "&&":
            self.advance()
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else Junction("and", tuple(items))

    def parse_not(self):
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise JqlError(
                f"Error in the JQL Query: the query nests NOT and parentheses more "
                f"than {MAX_NESTING} levels deep."
            )
        try:
            if self.token.is_word("not") or self.token.text == "!":
                self.advance()
                return Negation(self.parse_not())
            if self.token.kind == "(":
                self.advance()
                inner = self.parse_or()
                if self.token.kind != ")":
                    raise self.fail("Expecting ')'")
                self.advance()
                return inner
            return self.parse_clause()
        finally:
            self.depth -= 1

    def parse_clause(self) -> Clause:
        field_token = self.token
        if field_token.kind not in ("word", "string") or field_token.is_word(
            "and", "or", "order"
        ):
            raise self.fail("Expecting a field name")
        self.advance()
        operator = self.parse_operator()
        if operator in ("in", "not in"):
            values = self.parse_list()
        elif operator in ("is", "is not"):
            values = (self.parse_empty(),)
        else:
            values = (self.parse_value(),)
        return Clause(field_token.text, operator, values, field_token.position)

    def parse_operator(self) -> str:
        token = self.token
        if token.kind == "op" and token.text not in ("&&", "||", "!"):
            self.advance()
            return token.text
        if token.is_word("in"):
            self.advance()
            return "in"
        if token.is_word("is"):
            self.advance()
            if self.token.is_word("not"):
                self.advance()
                return "is not"
            return "is"
        if token.is_word("not") and self.tokens[self.index + 1].is_word("in"):
            self.index += 2
            return "not in"
        raise self.fail(
            "Expecting an operator (=, !=, ~, !~, <, <=, >, >=, in, not in, is or "
            "is not)"
        )

    def parse_empty(self) -> Value:
        token = self.token
        if not token.is_word("empty", "null"):
            raise self.fail("Expecting 'EMPTY' or 'NULL'")
        self.advance()
        return Value("empty", token.text, token.position)

    def parse_value(self) -> Value:
        token = self.token
        if token.kind == "string":
            self.advance()
            return Value("literal", token.text, token.position)
        if token.kind != "word" or token.is_word("and", "or", "order", "not", "in"):
            raise self.fail("Expecting either a value, list or function")
        self.advance()
        if token.is_word("empty", "null"):
            return Value("empty", token.text, token.position)
        if self.token.kind == "(":
            self.advance()
            if self.token.kind != ")":
                raise self.fail("Expecting ')'")
            self.advance()
            return Value("function", token.text, token.position)
        return Value("literal", token.text, token.position)

    def parse_list(self) -> tuple[Value, ...]:
        if self.token.kind != "(":
            raise self.fail("Expecting '('")
        self.advance()
        values = [self.parse_value()]
        while self.token.kind == "comma":
            self.advance()
            values.append(self.parse_value())
        if self.token.kind != ")":
            raise self.fail("Expecting ')' or ','")
        self.advance()
        return tuple(values)

    def parse_order_by(self) -> tuple[OrderField, ...]:
        self.advance()
        if not self.token.is_word("by"):
            raise self.fail("Expecting 'by'")
        self.advance()
        fields = [self.parse_order_field()]
        while self.token.kind == "comma":
            self.advance()
            fields.append(self.parse_order_field())
        return tuple(fields)

    def parse_order_field(self) -> OrderField:
        token = self.token
        if token.kind not in ("word", "string"):
            raise self.fail("Expecting a field name")
        self.advance()
        descending = False
        if self.token.is_word("asc", "desc"):
            descending = self.advance().text.casefold() == "desc"
        return OrderField(token.text, descending, token.position)


# NOTE: Jira's own nesting limit is not documented; this one keeps the recursive
# parser far from Python's recursion limit.
MAX_NESTING = 100


def parse(query: str) -> Query:
    """Parse a JQL query, or raise JqlError on a syntax error."""
    return _Parser(query).parse()


# Evaluation


@dataclass(frozen=True)
class JqlContext:
    """The data that a query runs against: the site's issues and the caller.

    `people` are (account id, email, display name) in the order that the issue
    columns use, and `current_person` is the caller's index in it. `now_ms` is
    the current time in Unix milliseconds, for relative dates.
    """

    table: IssueTable
    projects: Sequence[Any]
    people: Sequence[tuple[str, str, str]]
    current_person: int
    now_ms: int


@dataclass(frozen=True)
class Search:
    """A compiled query: which rows match, in which order."""

    predicate: Predicate
    candidates: Sequence[range] | None
    order: tuple[tuple[Callable[[int], Any], bool], ...]

    def run(self, table: IssueTable) -> list[int]:
        """Return the matching rows, sorted."""
        if self.candidates is None:
            candidates = [range(table.size)]
        else:
            # The ranges are those of distinct projects, so they never overlap.
            candidates = sorted(self.candidates, key=lambda rows: rows.start)
        predicate = self.predicate
        rows = [row for block in candidates for row in block if predicate(row)]
        # Sorting by the last key first keeps equal rows in the order of the
        # earlier keys, because Python's sort is stable (also when reversed).
        for key, descending in reversed(self.order):
            rows.sort(key=key, reverse=descending)
        return rows


_FIELD_ALIASES = {"issuekey": "key", "type": "issuetype"}
_FIELD_NAMES = {
    "project": "project",
    "key": "key",
    "id": "id",
    "status": "status",
    "statuscategory": "statusCategory",
    "issuetype": "issuetype",
    "priority": "priority",
    "assignee": "assignee",
    "reporter": "reporter",
    "creator": "creator",
    "labels": "labels",
    "summary": "summary",
    "description": "description",
    "text": "text",
    "created": "created",
    "updated": "updated",
}
_EQUALITY = ("=", "!=", "in", "not in")
_NULLABLE = ("is", "is not")
_SUMMARY_WORDS = tuple(adf.words(summary) for summary in SUMMARIES)


def _field_key(name: str) -> str | None:
    key = name.casefold()
    key = _FIELD_ALIASES.get(key, key)
    return key if key in _FIELD_NAMES else None


def _unknown_field(name: str) -> JqlError:
    return JqlError(
        f"Field '{name}' does not exist or you do not have permission to view it."
    )


def _missing_value(value: Value, field_name: str) -> str:
    return f"The value '{value.text}' does not exist for the field '{field_name}'."


class _Compiler:
    def __init__(self, context: JqlContext):
        self.context = context
        self.table = context.table
        self.errors: list[str] = []

    def compile(self, query: Query) -> Search:
        predicate = self.node(query.where)
        order = self.order(query.order)
        if self.errors:
            raise JqlError(*self.errors)
        return Search(predicate, self.candidates(query.where), order)

    def node(self, node) -> Predicate:
        if isinstance(node, Clause):
            return self.clause(node)
        if isinstance(node, Negation):
            inner = self.node(node.item)
            return lambda row: not inner(row)
        predicates = [self.node(item) for item in node.items]
        combined = predicates[0]
        for predicate in predicates[1:]:
            combined = _both(combined, predicate, node.operator == "and")
        return combined

    def candidates(self, node) -> list[range] | None:
        """Return row ranges that contain every match, or None for all rows."""
        if isinstance(node, Clause) and node.operator in ("=", "in"):
            field_key = _field_key(node.field)
            if field_key == "project":
                indexes = self.project_indexes(node, record=False)
                return [self.table.rows_of_project(index) for index in indexes]
        if isinstance(node, Junction) and node.operator == "and":
            for item in node.items:
                found = self.candidates(item)
                if found is not None:
                    return found
        return None

    # Clauses

    def clause(self, clause: Clause) -> Predicate:
        field_key = _field_key(clause.field)
        if field_key is None:
            self.errors.append(_unknown_field(clause.field).messages[0])
            return _never
        handler = getattr(self, f"clause_{field_key}")
        return handler(clause)

    def check_operator(self, clause: Clause, allowed: tuple[str, ...]) -> bool:
        if clause.operator in allowed:
            return True
        name = _FIELD_NAMES[_field_key(clause.field)]
        self.errors.append(
            f"The operator '{clause.operator}' is not supported by the '{name}' field."
        )
        return False

    def clause_project(self, clause: Clause) -> Predicate:
        if not self.check_operator(clause, _EQUALITY + _NULLABLE):
            return _never
        if clause.operator in _NULLABLE:
            # Every issue has a project.
            return _never if clause.operator == "is" else _always
        wanted = self.project_indexes(clause, record=True)
        column = self.table.project
        return _membership(lambda row: column[row], wanted, clause.operator)

    def project_indexes(self, clause: Clause, record: bool) -> set[int]:
        indexes = set()
        for value in clause.values:
            found = self.find_project(value.text)
            if found is None and record:
                self.errors.append(_missing_value(value, "project"))
            elif found is not None:
                indexes.add(found)
        return indexes

    def find_project(self, text: str) -> int | None:
        index = self.table.project_index(text.upper())
        if index is not None:
            return index
        folded = text.casefold()
        for position, project in enumerate(self.context.projects):
            if project.name.casefold() == folded or str(project.id) == text:
                return position
        return None

    def clause_key(self, clause: Clause) -> Predicate:
        if not self.check_operator(clause, _EQUALITY):
            return _never
        rows = set()
        for value in clause.values:
            row = self.table.find(value.text)
            if row is None:
                self.errors.append(
                    f"An issue with key '{value.text}' does not exist for field 'key'."
                )
            else:
                rows.add(row)
        return _membership(lambda row: row, rows, clause.operator)

    def clause_id(self, clause: Clause) -> Predicate:
        return self.clause_key(clause)

    def choice(self, clause, names, column, field_name) -> Predicate:
        """Compile a clause on a field with a fixed list of values."""
        if not self.check_operator(clause, _EQUALITY + _NULLABLE):
            return _never
        if clause.operator in _NULLABLE:
            return _never if clause.operator == "is" else _always
        wanted = set()
        for value in clause.values:
            folded = value.text.casefold()
            matches = {code for code, name in names if name.casefold() == folded}
            if not matches:
                self.errors.append(_missing_value(value, field_name))
            wanted |= matches
        return _membership(lambda row: column[row], wanted, clause.operator)

    def clause_status(self, clause: Clause) -> Predicate:
        names = [(i, s.name) for i, s in enumerate(STATUSES)]
        names += [(i, s.id) for i, s in enumerate(STATUSES)]
        return self.choice(clause, names, self.table.status, "status")

    def clause_statuscategory(self, clause: Clause) -> Predicate:
        names = []
        for index, status in enumerate(STATUSES):
            category = STATUS_CATEGORIES[status.category]
            names += [(index, category.name), (index, category.key)]
            names.append((index, str(category.id)))
        return self.choice(clause, names, self.table.status, "statusCategory")

    def clause_issuetype(self, clause: Clause) -> Predicate:
        names = [(i, t.name) for i, t in enumerate(ISSUE_TYPES)]
        names += [(i, t.id) for i, t in enumerate(ISSUE_TYPES)]
        # Company-managed projects call the subtask type "Sub-task".
        names.append((SUBTASK, "Sub-task"))
        return self.choice(clause, names, self.table.issue_type, "issuetype")

    def clause_priority(self, clause: Clause) -> Predicate:
        names = [(i, p.name) for i, p in enumerate(PRIORITIES)]
        names += [(i, p.id) for i, p in enumerate(PRIORITIES)]
        return self.choice(clause, names, self.table.priority, "priority")

    def user_clause(self, clause: Clause, column, offset: int) -> Predicate:
        """Compile a clause on a user field.

        A column code minus `offset` is the person's index. A code below the
        offset means that no person is set, which only the assignee column has.
        """
        allowed = _EQUALITY + _NULLABLE
        if not self.check_operator(clause, allowed):
            return _never
        name = _FIELD_NAMES[_field_key(clause.field)]
        wanted = set()
        for value in clause.values:
            if value.kind == "empty":
                wanted.add(None)
            elif value.kind == "function":
                if value.text.casefold() != "currentuser":
                    self.errors.append(_unknown_function(value))
                wanted.add(self.context.current_person)
            else:
                person = self.find_person(value.text)
                if person is None:
                    self.errors.append(_missing_value(value, name))
                wanted.add(person)

        def person_of(row: int) -> int | None:
            code = column[row] - offset
            return code if code >= 0 else None

        operator = {"is": "=", "is not": "!="}.get(clause.operator, clause.operator)
        return _membership(person_of, wanted, operator, nullable=True)

    def find_person(self, text: str) -> int | None:
        folded = text.casefold()
        for index, (account_id, email, _name) in enumerate(self.context.people):
            if text == account_id or folded == email.casefold():
                return index
        return None

    def clause_assignee(self, clause: Clause) -> Predicate:
        return self.user_clause(clause, self.table.assignee, 1)

    def clause_reporter(self, clause: Clause) -> Predicate:
        return self.user_clause(clause, self.table.reporter, 0)

    def clause_creator(self, clause: Clause) -> Predicate:
        return self.user_clause(clause, self.table.creator, 0)

    def clause_labels(self, clause: Clause) -> Predicate:
        if not self.check_operator(clause, _EQUALITY + _NULLABLE):
            return _never
        column = self.table.labels
        if clause.operator in _NULLABLE:
            empty = clause.operator == "is"
            return lambda row: (not LABEL_SETS[column[row]]) == empty
        wanted = {value.text for value in clause.values if value.kind == "literal"}
        with_empty = any(value.kind == "empty" for value in clause.values)
        matching = {
            index
            for index, labels in enumerate(LABEL_SETS)
            if wanted & set(labels) or (with_empty and not labels)
        }
        if clause.operator in ("=", "in"):
            return lambda row: column[row] in matching
        # != and not in skip issues without labels, unless EMPTY was listed.
        return lambda row: (
            column[row] not in matching
            and (bool(LABEL_SETS[column[row]]) or with_empty)
        )

    def text_clause(self, clause: Clause, in_summary: bool, in_description: bool):
        if clause.operator in _NULLABLE and in_description and not in_summary:
            column = self.table.description
            empty = clause.operator == "is"
            return lambda row: (column[row] == 0) == empty
        if not self.check_operator(clause, ("~", "!~")):
            return _never
        value = clause.values[0]
        terms = re.findall(r"[\w*]+", value.text.casefold())
        if value.kind != "literal" or not terms:
            name = _FIELD_NAMES[_field_key(clause.field)]
            self.errors.append(
                f"The field '{name}' does not support searching for an empty string."
            )
            return _never
        summaries = (
            {i for i, words in enumerate(_SUMMARY_WORDS) if _has_terms(words, terms)}
            if in_summary
            else set()
        )
        descriptions = (
            {
                i
                for i, words in enumerate(adf.DESCRIPTION_WORDS)
                if _has_terms(words, terms)
            }
            if in_description
            else set()
        )
        summary_column, description_column = self.table.summary, self.table.description

        def matches(row: int) -> bool:
            return (
                summary_column[row] in summaries
                or description_column[row] in descriptions
            )

        if clause.operator == "~":
            return matches
        return lambda row: not matches(row)

    def clause_summary(self, clause: Clause) -> Predicate:
        return self.text_clause(clause, True, False)

    def clause_description(self, clause: Clause) -> Predicate:
        return self.text_clause(clause, False, True)

    def clause_text(self, clause: Clause) -> Predicate:
        return self.text_clause(clause, True, True)

    def date_clause(self, clause: Clause, column) -> Predicate:
        allowed = ("=", "!=", "<", "<=", ">", ">=")
        if not self.check_operator(clause, allowed):
            return _never
        name = _FIELD_NAMES[_field_key(clause.field)]
        moment = self.date_value(clause.values[0], name)
        if moment is None:
            return _never
        compare = _COMPARISONS[clause.operator]
        return lambda row: compare(column[row], moment)

    def date_value(self, value: Value, field_name: str) -> int | None:
        if value.kind == "function":
            if value.text.casefold() == "now":
                return self.context.now_ms
            self.errors.append(_unknown_function(value))
            return None
        moment = parse_date(value.text, self.context.now_ms)
        if moment is None:
            self.errors.append(
                f"Date value '{value.text}' for field '{field_name}' is invalid. "
                "Valid formats are 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', "
                "'yyyy/MM/dd', 'yyyy-MM-dd' and periods such as '-5d' or '4w 2d'."
            )
        return moment

    def clause_created(self, clause: Clause) -> Predicate:
        return self.date_clause(clause, self.table.created)

    def clause_updated(self, clause: Clause) -> Predicate:
        return self.date_clause(clause, self.table.updated)

    # ORDER BY

    def order(self, fields: Sequence[OrderField]) -> tuple:
        if len(fields) > MAX_ORDER_FIELDS:
            self.errors.append(
                f"The ORDER BY clause has {len(fields)} fields; at most "
                f"{MAX_ORDER_FIELDS} are allowed."
            )
            return ()
        keys = []
        for item in fields:
            field_key = _field_key(item.field)
            if field_key is None:
                self.errors.append(_unknown_field(item.field).messages[0])
                continue
            key = self.sort_key(field_key)
            if key is None:
                self.errors.append(
                    f"Field '{_FIELD_NAMES[field_key]}' does not support sorting."
                )
                continue
            keys.append((key, item.descending))
        return tuple(keys)

    def sort_key(self, field_key: str) -> Callable[[int], Any] | None:
        table = self.table
        if field_key in ("key", "project"):
            ranks = _ranks([key for key in table.project_keys])
            project = table.project
            if field_key == "project":
                return lambda row: ranks[project[row]]
            # Rows of a project follow the issue numbers.
            return lambda row: (ranks[project[row]], row)
        columns = {
            "id": None,
            "created": table.created,
            "updated": table.updated,
            "priority": table.priority,
            "status": table.status,
            "issuetype": table.issue_type,
        }
        if field_key in columns:
            column = columns[field_key]
            return (lambda row: row) if column is None else column.__getitem__
        if field_key == "summary":
            ranks = _ranks([summary.casefold() for summary in SUMMARIES])
            summary = table.summary
            return lambda row: ranks[summary[row]]
        if field_key in ("assignee", "reporter", "creator"):
            return self.person_sort_key(field_key)
        return None

    def person_sort_key(self, field_key: str) -> Callable[[int], Any]:
        ranks = _ranks([name.casefold() for _id, _email, name in self.context.people])
        if field_key == "assignee":
            column = self.table.assignee
            # Unassigned issues sort after every person.
            return lambda row: ranks[column[row] - 1] if column[row] else len(ranks)
        column = getattr(self.table, field_key)
        return lambda row: ranks[column[row]]


_COMPARISONS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _unknown_function(value: Value) -> str:
    return f"Unable to find JQL function '{value.text}()'."


def _never(row: int) -> bool:
    return False


def _always(row: int) -> bool:
    return True


def _both(first: Predicate, second: Predicate, conjunction: bool) -> Predicate:
    if conjunction:
        return lambda row: first(row) and second(row)
    return lambda row: first(row) or second(row)


def _membership(value_of, wanted: set, operator: str, nullable: bool = False):
    """Return a predicate for =, in, != or not in over the value of a row.

    With `nullable`, None means an empty field: it matches = and in only when
    None is wanted, and never matches != or not in unless None is listed.
    """
    positive = operator in ("=", "in")
    if positive:
        return lambda row: value_of(row) in wanted
    if nullable and None not in wanted:
        return lambda row: (value := value_of(row)) is not None and value not in wanted
    return lambda row: value_of(row) not in wanted


def _has_terms(words: frozenset[str], terms: list[str]) -> bool:
    for term in terms:
        if term.endswith("*"):
            prefix = term.rstrip("*")
            if not any(word.startswith(prefix) for word in words):
                return False
        elif term not in words:
            return False
    return True


def _ranks(values: Sequence[str]) -> list[int]:
    """Return each value's position in sorted order."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0] * len(values)
    for rank, index in enumerate(order):
        ranks[index] = rank
    return ranks


_PERIOD = re.compile(r"([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)")
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])")
_PERIOD_MINUTES = {"w": 7 * 1440, "d": 1440, "h": 60, "m": 1}
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def parse_date(text: str, now_ms: int) -> int | None:
    """Return a JQL date value as Unix milliseconds, or None if it is invalid.

    Absolute dates are in the practice account's time zone, as Jira reads them in
    the caller's zone. A period such as -30d is relative to `now_ms`.
    """
    text = text.strip()
    period = _PERIOD.fullmatch(text)
    if period:
        minutes = sum(
            int(amount) * _PERIOD_MINUTES[unit]
            for amount, unit in _PERIOD_PART.findall(period.group(2))
        )
        sign = -1 if period.group(1) == "-" else 1
        return now_ms + sign * minutes * 60_000
    for date_format in _DATE_FORMATS:
        try:
            moment = datetime.strptime(text, date_format)
        except ValueError:
            continue
        return int(moment.replace(tzinfo=USER_ZONE).timestamp() * 1000)
    return None


def compile_query(query: Query, context: JqlContext) -> Search:
    """Resolve a parsed query against a site; raise JqlError for unknown fields,
    values, operators and functions, listing every problem found."""
    context.table.ensure_built()
    return _Compiler(context).compile(query)
