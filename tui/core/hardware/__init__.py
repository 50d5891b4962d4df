"""The hardware a model must fit on: detection (NVML, psutil), the device
catalog, profiles and the profile store.
"""
