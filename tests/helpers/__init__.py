"""Test helpers: events and contacts DataFrames built by hand or drawn with numpy."""
