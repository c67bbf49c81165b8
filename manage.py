#!/usr/bin/env python
"""Django's command-line utility for data-pipeline."""

import os
import sys


def main() -> None:
    # An empty value (an env file's `DJANGO_SETTINGS_MODULE=`) means the default too.
    os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("DJANGO_SETTINGS_MODULE") or "pipeline_project.settings.local"
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ModuleNotFoundError as error:
        # Django reads --settings into the environment, so this names the module it tried.
        module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
        if not error.name or not (module == error.name or module.startswith(f"{error.name}.")):
            raise
        from pipeline_project.env import exit_for, settings_module_problem

        problem = settings_module_problem(module)
        if problem is None:
            raise
        exit_for([problem])


if __name__ == "__main__":
    main()
