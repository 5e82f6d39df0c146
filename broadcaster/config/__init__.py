"""Reading the station from disk: YAML configuration and bulletin scripts, validated with
pydantic and located to ``path:line`` so officers can fix what they wrote."""
