"""Plain-Python core of the dashboard: no Streamlit import anywhere under lib/."""
