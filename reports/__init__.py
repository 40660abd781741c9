"""The self-contained HTML traffic report (plotly), built from an Analysis."""
