"""Every collector module, imported here so that it registers itself (one visible list, no discovery magic).

Add a collector by adding one file to this folder and one line below.
"""
from . import cpu  # noqa: F401
from . import diskstats  # noqa: F401
from . import filefd  # noqa: F401
from . import filesystem  # noqa: F401
from . import haproxy  # noqa: F401
from . import http_probe  # noqa: F401
from . import loadavg  # noqa: F401
from . import meminfo  # noqa: F401
from . import netdev  # noqa: F401
from . import netstat  # noqa: F401
from . import nginx  # noqa: F401
from . import os  # noqa: F401
from . import postgres  # noqa: F401
from . import pressure  # noqa: F401
from . import processes  # noqa: F401
from . import redis  # noqa: F401
from . import sockstat  # noqa: F401
from . import stat  # noqa: F401
from . import time  # noqa: F401
from . import tcpstat  # noqa: F401
from . import textfile  # noqa: F401
from . import uname  # noqa: F401
from . import vmstat  # noqa: F401
from . import arp  # noqa: F401
from . import conntrack  # noqa: F401
from . import entropy  # noqa: F401
from . import netclass  # noqa: F401
from . import softnet  # noqa: F401
from . import udp_queues  # noqa: F401
from . import selinux  # noqa: F401
from . import timex  # noqa: F401
from . import schedstat  # noqa: F401
from . import cpufreq  # noqa: F401
from . import dmi  # noqa: F401
from . import thermal_zone  # noqa: F401
from . import mdadm  # noqa: F401
from . import bonding  # noqa: F401
from . import edac  # noqa: F401
from . import hwmon  # noqa: F401
from . import nvme  # noqa: F401
from . import rapl  # noqa: F401
from . import tapestats  # noqa: F401
from . import infiniband  # noqa: F401
from . import fibrechannel  # noqa: F401
