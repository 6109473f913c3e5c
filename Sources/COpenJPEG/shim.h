// OpenJPEG (libopenjp2-7-dev): JPEG 2000 decoding. The static archive is linked by Package.swift.
#include <openjpeg-2.5/openjpeg.h>
