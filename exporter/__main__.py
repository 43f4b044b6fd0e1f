"""``python -m perfadvisor.exporter`` runs the exporter, like the ``perfadvisor-exporter`` console script."""
from .cli import main

if __name__ == "__main__":
    main()
