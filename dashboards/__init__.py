"""The merchant dashboards (Streamlit): ``streamlit run dashboards/streamlit_app.py``."""
