"""The reference project's front end, written once: the defaults of every step
that reads audio or maps it (the loader, the extractors and their functions,
the pipeline factories, the CNN's input bands, the synthetic data sets).

16-kHz mono clips of 6 s, a 2048-point STFT every 512 samples, 128 mel bands and
13 MFCCs: a clip gives a 13 x 188 MFCC map and a 128 x 188 log-mel map.
"""

__all__ = ["DURATION", "HOP_LENGTH", "N_FFT", "N_MELS", "N_MFCC", "SR"]

#: Sample rate (Hz) audio is read at.
SR = 16000
#: Seconds of each clip (cut or padded to it).
DURATION = 6.0
#: STFT frame length (samples).
N_FFT = 2048
#: STFT hop (samples).
HOP_LENGTH = 512
#: Mel bands of the log-mel map, and of the spectrum the MFCCs come from.
N_MELS = 128
#: MFCCs per frame.
N_MFCC = 13
