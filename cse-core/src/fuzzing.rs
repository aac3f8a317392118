//! Entry points for the fuzz targets (to be written).
