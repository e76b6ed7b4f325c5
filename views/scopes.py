"""Step 3: scopes as checkboxes grouped by product, presets, and a live preview."""

import streamlit as st

from lib import scopes as catalogue
from ui.common import PAGES, open_store, stepper

store = open_store()

st.title("3. Scopes")
# Drawn last, once this run has saved the selection, so step 3 shows as done.
stepper_slot = st.container()

st.write(
    "Scopes decide what the token may do. Request only scopes that you also added "
    "to the app in the developer console, because the consent screen rejects "
    "others."
)


def _checkbox_key(name: str) -> str:
    return f"scope:{name}"


def _apply_selection(names) -> None:
    chosen = set(names)
    for scope in catalogue.CATALOGUE:
        st.session_state[_checkbox_key(scope.name)] = scope.name in chosen


# Streamlit deletes a page's widget values when the user leaves the page, so the
# boxes are set again from the saved selection whenever they are missing.
if any(_checkbox_key(s.name) not in st.session_state for s in catalogue.CATALOGUE):
    saved = store.selected_scopes()
    _apply_selection(saved if saved is not None else catalogue.DEFAULT_SELECTION)

st.subheader("What do you want to do?")
st.caption(
    "Tick what the token is for, and the button selects the smallest set of "
    "scopes that allows it: classic scopes where an API takes them, granular "
    "ones where it takes only those."
)
task_columns = st.columns(2)
for index, task in enumerate(catalogue.TASKS):
    task_columns[index % 2].checkbox(task.label, key=f"task:{task.key}", help=task.help)
chosen_tasks = [
    task.key for task in catalogue.TASKS if st.session_state.get(f"task:{task.key}")
]
task_scopes = catalogue.scopes_for_tasks(chosen_tasks)
st.button(
    "Select the scopes for these tasks",
    key="apply_tasks",
    on_click=_apply_selection,
    args=(task_scopes,),
    disabled=not chosen_tasks,
    help=", ".join(task_scopes) if task_scopes else "Tick at least one task.",
)
if task_scopes:
    st.caption(f"Needed: {', '.join(task_scopes)}")

st.subheader("Presets")
preset_columns = st.columns(len(catalogue.PRESETS))
for column, (preset_name, preset_scopes) in zip(
    preset_columns, catalogue.PRESETS.items(), strict=True
):
    column.button(
        preset_name,
        key=f"preset:{preset_name}",
        on_click=_apply_selection,
        args=(preset_scopes,),
        help=", ".join(preset_scopes),
        width="stretch",
    )

for group in catalogue.GROUPS:
    st.subheader(group)
    if group == catalogue.CONFLUENCE_GRANULAR:
        st.caption(
            "Confluence REST v2 (the space and page lists this dashboard uses "
            "first) accepts only granular scopes. With classic scopes alone, the "
            "dashboard falls back to the v1 space list."
        )
    for scope in catalogue.scopes_in_group(group):
        st.checkbox(f"{scope.name}: {scope.summary}", key=_checkbox_key(scope.name))
        st.caption(f"{scope.description} {scope.note}".strip())

selected = catalogue.normalize_scopes(
    scope.name
    for scope in catalogue.CATALOGUE
    if st.session_state.get(_checkbox_key(scope.name))
)

if catalogue.OFFLINE_ACCESS not in selected:
    st.warning(
        "offline_access is off: you will get no refresh token, and the connection "
        "ends when the access token expires after an hour.",
        icon=":material/warning:",
    )

st.subheader("Scope string")
st.caption("Space-separated, as the authorize URL takes it.")
st.code(
    catalogue.scope_string(selected) or "(no scope selected)",
    language=None,
    wrap_lines=True,
)

if store.selected_scopes() != selected:
    store.save_selected_scopes(selected)
if not selected:
    st.error("Select at least one scope to continue.")

if selected:
    st.page_link(
        PAGES["consent"],
        label="Next: open the consent screen",
        icon=":material/arrow_forward:",
    )

with stepper_slot:
    stepper(store, current="scopes")
