"""The indexing pipeline's stages on a Ray cluster: workers.py runs on the cluster, driver.py in `anyseek`."""
