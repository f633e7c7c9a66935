@problemName X
@timeStamps false
@univariate true
@classLabel true a b
