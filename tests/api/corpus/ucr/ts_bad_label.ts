@problemName X
@timeStamps false
@univariate true
@classLabel true a b
@data
1,2,3:zzz
