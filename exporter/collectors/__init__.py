"""Every collector module, imported here so that it registers itself (one visible list, no discovery magic).

Add a collector by adding one file to this folder and one line below.
"""
